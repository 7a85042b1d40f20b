/* fuzz_instance_paths.c: libFuzzer target for an instance's identity and the
 * paths into it: osm_instance_canonical_uri (dir: URIs with %-escapes, ".",
 * "..", "//", ?disk= parameters, symlinks of the path itself),
 * osm_root_path / osm_root_path_follow (guest paths resolved inside a root
 * whose symlinks the input makes) and osm_name_is_plain.
 *
 * Input, one item a line:
 *   "L NAME TARGET"  a symlink ROOT/NAME -> TARGET (NAME's directories made;
 *                    a TARGET starting with '@' starts with the host path)
 *   "D NAME"         a directory ROOT/NAME
 *   "U URI"          canonicalise URI (relative paths are relative to the
 *                    fixture, whose "root" is the root above and "host" a
 *                    directory beside it)
 *   "P PATH"         resolve PATH inside the root, both ways
 *   "O PATH"         osm_root_open(PATH, O_CREAT) and
 *                    osm_root_write_file_atomic(PATH)
 *   "N TEXT"         osm_name_is_plain(TEXT)
 * Beyond memory and UB errors it aborts when a property fails:
 * - a canonical URI is "dir:/...", has no "//", "/./", "/../", no trailing
 *   '/', and canonicalising it again gives itself;
 * - a resolved path is ROOT or below it, has no "." or ".." component, and
 *   no component of it below ROOT is a symlink (the last one may be when
 *   not following); or it is the unresolvable-symlink path under /proc;
 * - a file osm_root_open made or opened is ROOT or below it (its
 *   /proc/self/fd link), and never a symlink; osm_root_write_file_atomic
 *   leaves nothing new outside ROOT (the fixture's "host" stays empty);
 * - a plain name has no '/', is not "." or "..", and is not empty. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osm_error.h"
#include "osm_fs.h"
#include "providers/provider.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[128], root[160], host[160];

static void remove_base(void)
{
    struct osm_err err = OSM_ERR_INIT;
    osm_remove_tree(base, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(base, sizeof base, "%s/osmig-fuzz-paths-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(base))
        abort();
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(host, sizeof host, "%s/host", base);
    if (mkdir(host, 0755) != 0 || chdir(base) != 0)
        abort();
    atexit(remove_base);
    return 0;
}

static void check(int ok, const char *what, const char *a, const char *b)
{
    if (ok)
        return;
    fprintf(stderr, "property failed: %s: '%s' -> '%s'\n", what, a, b ? b : "(null)");
    abort();
}

static void fresh_root(void)
{
    struct osm_err err = OSM_ERR_INIT;
    if (osm_remove_tree(root, &err) != 0 || mkdir(root, 0755) != 0)
        abort();
}

/* ROOT/NAME's parent directories, made inside the root only: a parent
 * that is a symlink (made by an earlier line) is not gone through, or the
 * fixture itself would write outside the root. */
static int make_parents(const char *name)
{
    char *p = osm_path_join(root, name);
    char *end = strrchr(p, '/');
    int rc = 0;
    for (char *c = p + strlen(root) + 1; end && c < end && rc == 0; c++) {
        char *slash = strchr(c, '/');
        if (!slash || slash > end)
            break;
        *slash = '\0';
        struct stat st;
        if (lstat(p, &st) != 0)
            rc = mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
        else if (!S_ISDIR(st.st_mode))
            rc = -1;
        *slash = '/';
        c = slash;
    }
    free(p);
    return rc;
}

static int plain_component(const char *name)
{
    /* Fixture names stay inside the root: no "..", nothing absolute. */
    return !strstr(name, "..") && name[0] != '/' && name[0];
}

static void check_resolved(const char *guest, const char *got, int follow)
{
    check(got != NULL, "resolved to NULL", guest, got);
    if (strncmp(got, "/proc/osmig-unresolvable-symlink", 32) == 0)
        return;
    size_t rl = strlen(root);
    check(strncmp(got, root, rl) == 0 && (got[rl] == '\0' || got[rl] == '/'), "outside the root", guest, got);
    const char *p = got + rl;
    char *prefix = osm_xstrdup(got);
    while (*p == '/') {
        const char *c = p + 1, *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        check(n > 0 && !(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.'), "a ., .. or empty component",
              guest, got);
        prefix[(c - got) + n] = '\0';
        struct stat st;
        int last = e == NULL;
        if ((!last || follow) && lstat(prefix, &st) == 0)
            check(!S_ISLNK(st.st_mode), "a symlink left in the resolved path", guest, got);
        strcpy(prefix, got);
        p = c + n;
    }
    free(prefix);
}

static int host_is_empty(void)
{
    DIR *d = opendir(host);
    if (!d)
        abort();
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n == 0;
}

static void check_open(const char *guest)
{
    struct osm_err err = OSM_ERR_INIT;
    int fd = osm_root_open(root, guest, O_RDWR | O_CREAT, 0644, &err);
    if (fd < 0)
        fd = osm_root_open(root, guest, O_PATH, 0, &err); /* a directory: where does it lead? */
    if (fd >= 0) {
        char link[64], got[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, got, sizeof got - 1);
        struct stat st;
        if (n < 0 || fstat(fd, &st) != 0)
            abort();
        got[n] = '\0';
        size_t rl = strlen(root);
        check(strncmp(got, root, rl) == 0 && (got[rl] == '\0' || got[rl] == '/'), "opened outside the root", guest,
              got);
        check(!S_ISLNK(st.st_mode), "opened a symlink", guest, got);
        close(fd);
    }
    osm_root_write_file_atomic(root, guest, "x", 1, 0644, &err);
    check(host_is_empty(), "a file written outside the root", guest, host);
}

static void check_uri(const char *uri)
{
    char *c = NULL, *again = NULL;
    struct osm_err err = OSM_ERR_INIT;
    if (osm_instance_canonical_uri(uri, &c, &err) != 0)
        return;
    check(strncmp(c, "dir:/", 5) == 0, "not dir:/...", uri, c);
    const char *path = c + 4;
    size_t pl = strcspn(path, "?");
    char *only = osm_xasprintf("%.*s", (int)pl, path);
    check(!strstr(only, "//") && !strstr(only, "/./") && !strstr(only, "/../"), "not normalised", uri, c);
    check(pl == 1 || only[pl - 1] != '/', "a trailing slash", uri, c);
    free(only);
    struct osm_err err2 = OSM_ERR_INIT;
    check(osm_instance_canonical_uri(c, &again, &err2) == 0, "its canonical URI does not open", uri, c);
    check(strcmp(again, c) == 0, "canonical twice differs", c, again);
    free(again);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    fresh_root();
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strlen(line) < 2 || line[1] != ' ')
            continue;
        char *arg = line + 2;
        switch (line[0]) {
        case 'L': {
            char *sp = strchr(arg, ' ');
            if (!sp)
                break;
            *sp = '\0';
            if (!plain_component(arg) || make_parents(arg) != 0)
                break;
            char *p = osm_path_join(root, arg);
            char *target = sp[1] == '@' ? osm_xasprintf("%s%s", host, sp + 2) : osm_xstrdup(sp + 1);
            int made = symlink(target, p) == 0 ? 0 : errno;
            free(target);
            if (made != 0 && made != EEXIST && made != ENOENT && made != ENOTDIR && made != ENAMETOOLONG &&
                made != EINVAL)
                abort();
            free(p);
            break;
        }
        case 'D': {
            if (!plain_component(arg) || make_parents(arg) != 0)
                break;
            char *p = osm_path_join(root, arg);
            (void)mkdir(p, 0755);
            free(p);
            break;
        }
        case 'U':
            check_uri(arg);
            break;
        case 'P': {
            char *a = osm_root_path(root, arg), *b = osm_root_path_follow(root, arg);
            check_resolved(arg, a, 0);
            check_resolved(arg, b, 1);
            free(a);
            free(b);
            break;
        }
        case 'O':
            check_open(arg);
            break;
        case 'N':
            if (osm_name_is_plain(arg, 255))
                check(!strchr(arg, '/') && strcmp(arg, ".") != 0 && strcmp(arg, "..") != 0 && arg[0],
                      "a plain name that is not a component", arg, NULL);
            break;
        }
    }
    free(text);
    return 0;
}
