/* test_syslinux_cfg.c: a syslinux/extlinux configuration read and given a
 * new default entry (backends/linux/syslinux_cfg.c), as the bootloader
 * table does for the target's kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syslinux_cfg.h"

/* The test guest's file, as tests/vm/build-guest.py writes it. */
static const char guest_cfg[] = "DEFAULT linux\n"
                                "TIMEOUT 0\n"
                                "PROMPT 0\n"
                                "LABEL linux\n"
                                "  KERNEL /vmlinuz-6.1.0-57-amd64\n"
                                "  INITRD /initramfs-6.1.0-57-amd64.img\n"
                                "  APPEND root=/dev/vda2 init=/usr/lib/osmig-guest/init console=ttyS0 panic=-1 quiet\n";

static void default_entry_is_the_one_default_names(void **state)
{
    (void)state;
    static const char text[] = "# two kernels\nprompt 0\nlabel old\n  linux /vmlinuz-1\n  append root=/dev/sda1\n"
                               "Label new\n  Kernel vmlinuz-2\n  Append initrd=/initrd-2.img,/extra.img ro\n"
                               "default new\n";
    struct osm_sl_cfg c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_syslinux_parse(text, "t.cfg", &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.entries[c.def].label, "new");
    assert_string_equal(c.entries[c.def].kernel, "vmlinuz-2");
    /* APPEND's initrd= stands for INITRD (its first file). */
    assert_string_equal(c.entries[c.def].initrd, "/initrd-2.img");
    assert_string_equal(c.entries[0].kernel, "/vmlinuz-1");
    assert_null(c.entries[0].initrd);
    osm_syslinux_free(&c);
}

static void menu_default_then_first_label_without_default(void **state)
{
    (void)state;
    struct osm_sl_cfg c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_syslinux_parse("LABEL a\n KERNEL /a\nLABEL b\n KERNEL /b\n MENU DEFAULT\n", "t", &c, &err), 0);
    assert_string_equal(c.entries[c.def].label, "b");
    osm_syslinux_free(&c);
    assert_int_equal(osm_syslinux_parse("LABEL a\n KERNEL /a\nLABEL b\n KERNEL /b\n", "t", &c, &err), 0);
    assert_string_equal(c.entries[c.def].label, "a");
    osm_syslinux_free(&c);
}

static void default_naming_no_label_is_refused_with_file_and_line(void **state)
{
    (void)state;
    struct osm_sl_cfg c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_syslinux_parse("TIMEOUT 0\nDEFAULT gone\nLABEL a\n KERNEL /a\n", "/boot/syslinux.cfg", &c,
                                        &err),
                     -1);
    assert_non_null(strstr(err.msg, "/boot/syslinux.cfg:2"));
    assert_non_null(strstr(err.msg, "gone"));
    osm_err_clear(&err);
    assert_int_equal(osm_syslinux_parse("TIMEOUT 0\n", "x.cfg", &c, &err), -1);
    assert_non_null(strstr(err.msg, "no LABEL"));
}

static void new_default_entry_carries_the_old_append_and_keeps_the_rest(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char *out = osm_syslinux_set_default(guest_cfg, "t", "6.1.0-57-cloud-amd64", "/vmlinuz-6.1.0-57-cloud-amd64",
                                         "/initramfs-6.1.0-57-cloud-amd64.img", &err);
    assert_non_null(out);
    struct osm_sl_cfg c;
    assert_int_equal(osm_syslinux_parse(out, "out", &c, &err), 0);
    assert_int_equal(c.n, 2);
    const struct osm_sl_entry *d = &c.entries[c.def];
    assert_string_equal(d->label, "6.1.0-57-cloud-amd64");
    assert_string_equal(d->kernel, "/vmlinuz-6.1.0-57-cloud-amd64");
    assert_string_equal(d->initrd, "/initramfs-6.1.0-57-cloud-amd64.img");
    assert_string_equal(d->append, "root=/dev/vda2 init=/usr/lib/osmig-guest/init console=ttyS0 panic=-1 quiet");
    /* The old entry and the global settings stay; one DEFAULT only. */
    assert_string_equal(c.entries[1].label, "linux");
    assert_string_equal(c.entries[1].kernel, "/vmlinuz-6.1.0-57-amd64");
    assert_non_null(strstr(out, "TIMEOUT 0\n"));
    assert_non_null(strstr(out, "PROMPT 0\n"));
    assert_null(strstr(strstr(out, "DEFAULT") + 1, "DEFAULT"));
    osm_syslinux_free(&c);
    free(out);
}

static void rewriting_twice_gives_the_same_file(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char *once = osm_syslinux_set_default(guest_cfg, "t", "k2", "/vmlinuz-k2", "/initramfs-k2.img", &err);
    assert_non_null(once);
    char *twice = osm_syslinux_set_default(once, "t", "k2", "/vmlinuz-k2", "/initramfs-k2.img", &err);
    assert_non_null(twice);
    /* A resumed step writes the entry again: replaced, not doubled. */
    assert_string_equal(once, twice);
    free(once);
    free(twice);
}

static void menu_default_marks_give_way_to_the_new_entry(void **state)
{
    (void)state;
    struct osm_err err = OSM_ERR_INIT;
    char *out = osm_syslinux_set_default("UI menu.c32\nLABEL a\n MENU DEFAULT\n KERNEL /a\n APPEND ro\n", "t", "k",
                                         "/vmlinuz-k", "/initramfs-k.img", &err);
    assert_non_null(out);
    assert_null(strstr(out, "MENU DEFAULT"));
    struct osm_sl_cfg c;
    assert_int_equal(osm_syslinux_parse(out, "out", &c, &err), 0);
    assert_string_equal(c.entries[c.def].label, "k");
    assert_string_equal(c.entries[c.def].append, "ro");
    osm_syslinux_free(&c);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_entry_is_the_one_default_names),
        cmocka_unit_test(menu_default_then_first_label_without_default),
        cmocka_unit_test(default_naming_no_label_is_refused_with_file_and_line),
        cmocka_unit_test(new_default_entry_carries_the_old_append_and_keeps_the_rest),
        cmocka_unit_test(rewriting_twice_gives_the_same_file),
        cmocka_unit_test(menu_default_marks_give_way_to_the_new_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
