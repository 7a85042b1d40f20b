/* cmd_complete.c: `osmig __complete WORD... CURRENT`, the candidates the
 * shell completions (completion/osmig.bash, completion/_osmig) offer for
 * CURRENT after the words before it, one a line, filtered by its prefix.
 * Hidden: not in the command table. Everything comes from what the commands
 * already say: the table (commands), each command's --help text (its
 * subcommands, options, which options take a value, the placeholder of each
 * position) and the store (task ids for TASK_ID, job ids for `jobs ... ID`,
 * access key ids for `key ... ID`, snapshot set ids of the instance before
 * SET_ID). It prints nothing for what the shell completes
 * better itself (paths, instance URIs), and never fails loudly: a
 * completion that cannot read the store offers no ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_tasks.h"
#include "osm_buf.h"
#include "osm_cli.h"
#include "provider.h"

/* The global options of main.c and whether they take a value. */
static const struct {
    const char *name;
    int value;
} globals[] = {{"--verbose", 0}, {"--state-dir", 1}, {"--no-auto-resume", 0}, {"--report-dir", 1},
               {"--config", 1},  {"--help", 0},      {"--version", 0}};

static void offer(const char *cand, const char *cur)
{
    if (strncmp(cand, cur, strlen(cur)) == 0)
        puts(cand);
}

/* A command's --help text, from the command itself in a child (its usage
 * goes to stdout and it may not return to us cleanly). */
static char *help_text(const struct osm_cli_command *c)
{
    int fd[2];
    if (pipe(fd) != 0)
        return NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return NULL;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        char *args[] = {(char *)c->name, "--help", NULL};
        int rc = c->fn(2, args);
        fflush(stdout);
        _exit(rc);
    }
    close(fd[1]);
    struct osm_buf b;
    osm_buf_init(&b);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd[0], chunk, sizeof chunk)) > 0)
        osm_buf_add(&b, chunk, (size_t)n);
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return osm_buf_detach(&b);
}

/* Does the help text show `--opt VALUE` (an upper-case word after it)? */
static int option_takes_value(const char *help, const char *opt)
{
    size_t len = strlen(opt);
    for (const char *p = strstr(help, opt); p; p = strstr(p + 1, opt)) {
        const char *e = p + len;
        if (*e == ' ' && e[1] >= 'A' && e[1] <= 'Z')
            return 1;
    }
    return 0;
}

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Every --option the help text names, once each, in its order. */
static void offer_options(const char *help, const char *cur)
{
    struct osm_buf seen;
    osm_buf_init(&seen);
    osm_buf_addc(&seen, ' ');
    for (const char *p = help; (p = strstr(p, "--")); p += 2) {
        if (p > help && (is_word_char(p[-1]) || p[-1] == '-'))
            continue;
        size_t n = 2;
        while (is_word_char(p[n]))
            n++;
        if (n == 2 || p[n - 1] == '-')
            continue;
        char opt[64];
        if (n >= sizeof opt)
            continue;
        memcpy(opt, p, n);
        opt[n] = '\0';
        char key[72];
        snprintf(key, sizeof key, " %s ", opt);
        if (strstr(seen.s, key))
            continue;
        osm_buf_addf(&seen, "%s ", opt);
        offer(opt, cur);
    }
    if (!strstr(seen.s, " --help "))
        offer("--help", cur); /* every command takes it, not every text says so */
    osm_buf_free(&seen);
}

/* The usage lines of the help text: "osmig CMD [SUB] WORDS...". */
static size_t usage_lines(const char *help, const char *cmd, char ***out)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "osmig %s ", cmd);
    size_t n = 0;
    char **v = NULL;
    for (const char *p = help; (p = strstr(p, prefix)); p++) {
        if (p != help && p[-1] != ' ')
            continue;
        const char *words = p + strlen(prefix);
        size_t len = strcspn(words, "\n");
        /* "list | show ID": each alternative is a usage line of its own. */
        int depth = 0;
        size_t from = 0;
        for (size_t k = 0; k <= len; k++) {
            if (k < len) {
                depth += words[k] == '[' ? 1 : words[k] == ']' ? -1 : 0;
                if (depth != 0 || k + 2 >= len || strncmp(words + k, " | ", 3) != 0)
                    continue;
            }
            v = osm_xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = osm_xasprintf("%.*s", (int)(k - from), words + from);
            from = k + 3;
            k += 2;
        }
    }
    *out = v;
    return n;
}

/* The usage line's positional words (after skipping [..] groups and
 * options with their values): SUB INSTANCE SET_ID ... into pos[]. */
static size_t positionals(const char *line, char pos[][32], size_t max)
{
    size_t n = 0;
    int depth = 0;
    const char *p = line;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " ");
        for (size_t i = 0; i < len; i++)
            depth += p[i] == '[' ? 1 : p[i] == ']' ? -1 : 0;
        int bracketed = depth > 0 || p[0] == '[' || p[len - 1] == ']';
        if (!bracketed && p[0] == '(')
            break; /* a remark: "(digest of a tree ...)" */
        if (!bracketed && p[0] == '-') {
            p += len;
            while (*p == ' ')
                p++;
            if (*p >= 'A' && *p <= 'Z') /* its value */
                p += strcspn(p, " ");
            continue;
        }
        if (!bracketed && len < 32) {
            memcpy(pos[n], p, len);
            pos[n][len] = '\0';
            n++;
        }
        p += len;
    }
    return n;
}

/* A usage word's alternatives ("delete|disable|enable"): 1 when `word` is
 * one of them; with `cur`, each is offered. */
static int alternative(const char *alts, const char *word, const char *cur)
{
    int found = 0;
    for (const char *a = alts; *a;) {
        size_t n = strcspn(a, "|");
        char one[32];
        snprintf(one, sizeof one, "%.*s", (int)n, a);
        if (word && strcmp(one, word) == 0)
            found = 1;
        if (cur)
            offer(one, cur);
        a += n + (a[n] == '|');
    }
    return found;
}

static void offer_task_ids(const char *state_dir, const char *cur)
{
    setenv("OSMIG_NO_AUTO_RESUME", "1", 1); /* a completion starts nothing */
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(state_dir, 1, &st, &err) != 0)
        return;
    struct osm_task *ts;
    size_t n;
    if (osm_store_list_tasks(st, &ts, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            offer(ts[i].id, cur);
            osm_task_free(&ts[i]);
        }
        free(ts);
    }
    osm_store_close(st);
}

/* Job ids (`osmig jobs ... ID`) and access key ids (`osmig key ... ID`) of
 * the local store. */
static void offer_store_ids(const char *state_dir, int keys, const char *cur)
{
    setenv("OSMIG_NO_AUTO_RESUME", "1", 1);
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    if (osm_cli_open_store(state_dir, 1, &st, &err) != 0)
        return;
    if (keys) {
        struct osm_key *k;
        size_t n;
        if (osm_store_list_keys(st, &k, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                offer(k[i].id, cur);
            osm_key_list_free(k, n);
        }
    } else {
        struct osm_job *j;
        size_t n;
        int64_t next;
        if (osm_store_list_jobs(st, 0, 0, &j, &n, &next, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                offer(j[i].id, cur);
            osm_job_list_free(j, n);
        }
    }
    osm_store_close(st);
}

static void offer_set_ids(const char *instance, const char *store, const char *cur)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_instance *inst;
    if (!instance || osm_instance_open(instance, &inst, &err) != 0)
        return;
    struct osm_snap_opts o = {.store = store};
    struct osm_snap_info *infos;
    size_t n;
    if (osm_instance_snapshot_list(inst, &o, &infos, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            offer(infos[i].id, cur);
        osm_instance_snapshot_list_free(inst, infos, n);
    }
    osm_instance_close(inst);
}

int cmd_complete(int argc, char **argv)
{
    if (argc < 2)
        return OSM_EXIT_OK;
    const char *cur = argv[argc - 1];
    char **w = argv + 1;
    size_t nw = (size_t)argc - 2, i = 0; /* the words before CURRENT */
    const char *state_dir = NULL;
    for (; i < nw && w[i][0] == '-'; i++) {
        for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++)
            if (strcmp(w[i], globals[g].name) == 0 && globals[g].value && i + 1 < nw) {
                if (strcmp(w[i], "--state-dir") == 0)
                    state_dir = w[i + 1];
                i++;
            }
    }
    size_t nc;
    const struct osm_cli_command *cmds = osm_cli_commands(&nc);
    if (i == nw) { /* the command itself, or a global option */
        if (cur[0] == '-') {
            for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++)
                offer(globals[g].name, cur);
        } else {
            for (size_t c = 0; c < nc; c++)
                offer(cmds[c].name, cur);
        }
        return OSM_EXIT_OK;
    }
    const struct osm_cli_command *cmd = NULL;
    for (size_t c = 0; c < nc; c++)
        if (strcmp(w[i], cmds[c].name) == 0)
            cmd = &cmds[c];
    if (!cmd)
        return OSM_EXIT_OK;
    if (cmd->fn == cmd_help) {
        if (i + 1 == nw)
            for (size_t c = 0; c < nc; c++)
                offer(cmds[c].name, cur);
        return OSM_EXIT_OK;
    }
    char *help = help_text(cmd);
    if (!help)
        return OSM_EXIT_OK;
    /* The words after the command: options (and their values) apart, the
     * positional ones in order. */
    const char *given[16];
    size_t ng = 0;
    const char *snap_store = NULL;
    int value_pending = 0;
    for (size_t k = i + 1; k < nw; k++) {
        if (w[k][0] == '-' && w[k][1]) {
            value_pending = !strchr(w[k], '=') && option_takes_value(help, w[k]);
            if (value_pending && k + 1 < nw) {
                if (strcmp(w[k], "--state-dir") == 0)
                    state_dir = w[k + 1];
                if (strcmp(w[k], "--snapshot-store") == 0)
                    snap_store = w[k + 1];
                k++;
                value_pending = 0;
            }
            continue;
        }
        if (ng < 16)
            given[ng++] = w[k];
    }
    if (value_pending) { /* CURRENT is an option's value: the shell's own (files) */
        free(help);
        return OSM_EXIT_OK;
    }
    if (cur[0] == '-') {
        offer_options(help, cur);
        free(help);
        return OSM_EXIT_OK;
    }
    char **lines;
    size_t nl = usage_lines(help, cmd->name, &lines);
    /* Which placeholder CURRENT stands for: that of the usage lines whose
     * positional words so far match (a subcommand word must be equal). */
    for (size_t l = 0; l < nl; l++) {
        char pos[16][32];
        size_t np = positionals(lines[l], pos, 16);
        int match = np > ng;
        for (size_t k = 0; match && k < ng; k++)
            if (pos[k][0] >= 'a' && pos[k][0] <= 'z' && !alternative(pos[k], given[k], NULL))
                match = 0;
        if (!match)
            continue;
        const char *ph = pos[ng];
        if (ph[0] >= 'a' && ph[0] <= 'z')
            alternative(ph, NULL, cur); /* a subcommand: "delete|disable|enable" is three */
        else if (strcmp(ph, "TASK_ID") == 0)
            offer_task_ids(state_dir, cur);
        else if (strcmp(ph, "ID") == 0 && (strcmp(cmd->name, "jobs") == 0 || strcmp(cmd->name, "key") == 0))
            offer_store_ids(state_dir, strcmp(cmd->name, "key") == 0, cur);
        else if (strcmp(ph, "SET_ID") == 0 && ng >= 1)
            offer_set_ids(given[ng - 1], snap_store, cur);
    }
    osm_free_strv(lines, nl);
    free(help);
    return OSM_EXIT_OK;
}
