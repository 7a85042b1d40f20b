/* vmctl: drives one provider operation on an instance, for the vm tests and
 * bench/vm-*.sh (the CLI has no command for run, copy, reboot or hot-plug;
 * the engine's steps call them through the same table).
 *
 *   vmctl URI facts | run ARGV... | copy-in HOST GUEST | copy-out GUEST HOST
 *            | reboot | attach IMAGE | detach IMAGE | stop | argv
 *
 * Prints what the operation gives (facts as key=value lines, run's output
 * then "exit=N", reboot's "boot_id=..."); exit 0 on success, 1 with the
 * error on stderr. */
#include <stdio.h>
#include <string.h>

#include "osm_log.h"
#include "providers/provider.h"
#include "providers/qemu_priv.h"

static int fail(const struct osm_err *e)
{
    fprintf(stderr, "vmctl: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    osm_log_init_from_env();
    if (argc < 3) {
        fprintf(stderr, "usage: vmctl URI facts|run ARGV...|copy-in H G|copy-out G H|reboot|attach IMG|detach IMG|"
                        "stop|argv\n");
        return 2;
    }
    struct osm_err err = OSM_ERR_INIT;
    struct osm_instance *inst = NULL;
    if (osm_instance_open(argv[1], &inst, &err) != 0)
        return fail(&err);
    const struct osm_provider *p = inst->provider;
    const char *op = argv[2];
    int rc = 0;
    if (strcmp(op, "facts") == 0) {
        struct osm_facts f;
        if (osm_instance_facts(inst, &f, &err) != 0)
            rc = fail(&err);
        else
            printf("vcpus=%d\nmemory_bytes=%lld\nsystem_disk_size_bytes=%lld\nsystem_disk_free_bytes=%lld\n"
                   "heartbeat=%lld\nos=%s\nkernel=%s\n",
                   f.vcpus, (long long)f.memory_bytes, (long long)f.system_disk_size_bytes,
                   (long long)f.system_disk_free_bytes, (long long)f.heartbeat, f.os, f.kernel);
    } else if (strcmp(op, "run") == 0 && argc > 3) {
        struct osm_buf out;
        osm_buf_init(&out);
        int st = p->run(inst, (const char *const *)argv + 3, &out, &err);
        if (st < 0) {
            rc = fail(&err);
        } else {
            fwrite(out.s, 1, out.len, stdout);
            printf("exit=%d\n", st);
        }
        osm_buf_free(&out);
    } else if (strcmp(op, "copy-in") == 0 && argc == 5) {
        if (!p->copy_in || p->copy_in(inst, argv[3], argv[4], &err) != 0)
            rc = fail(&err);
    } else if (strcmp(op, "copy-out") == 0 && argc == 5) {
        if (!p->copy_out || p->copy_out(inst, argv[3], argv[4], &err) != 0)
            rc = fail(&err);
    } else if (strcmp(op, "reboot") == 0) {
        char boot[64];
        if (p->reboot(inst, 0, boot, &err) != 0)
            rc = fail(&err);
        else
            printf("boot_id=%s\n", boot);
    } else if (strcmp(op, "attach") == 0 && argc == 4) {
        if (!p->attach_disk || p->attach_disk(inst, argv[3], &err) != 0)
            rc = fail(&err);
    } else if (strcmp(op, "detach") == 0 && argc == 4) {
        if (!p->detach_disk || p->detach_disk(inst, argv[3], &err) != 0)
            rc = fail(&err);
    } else if (strcmp(op, "stop") == 0 && p == &osm_provider_qemu) {
        if (qemu_stop(inst, &err) != 0)
            rc = fail(&err);
    } else if (strcmp(op, "argv") == 0 && p == &osm_provider_qemu) {
        char **v = qemu_start_argv(inst);
        for (size_t i = 0; v[i]; i++)
            printf("%s\n", v[i]);
        qemu_argv_free(v);
    } else {
        fprintf(stderr, "vmctl: unknown operation '%s'\n", op);
        rc = 2;
    }
    osm_instance_close(inst);
    return rc;
}
