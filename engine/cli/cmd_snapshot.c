/* cmd_snapshot.c: `osmig snapshot create|list|verify|restore|delete|digest`.
 * The work is in rollback/ (osm_snapshot.h); this file parses arguments,
 * shows progress and prints results. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_tasks.h"
#include "osm_cli.h"
#include "osm_snapshot.h"
#include "provider.h"

static const char USAGE[] =
    "usage: osmig snapshot create  INSTANCE [--label TEXT] [--json]\n"
    "       osmig snapshot list    INSTANCE [--json]\n"
    "       osmig snapshot verify  INSTANCE SET_ID\n"
    "       osmig snapshot restore INSTANCE SET_ID\n"
    "       osmig snapshot delete  INSTANCE SET_ID [--force] [--state-dir DIR]\n"
    "       osmig snapshot digest  DIR        (digest of a tree, as a set records it)\n"
    "options: --snapshot-store DIR (default $OSMIG_SNAPSHOT_STORE or " OSM_SNAPSHOT_STORE_DEFAULT ")\n"
    "         --quiet (no progress)\n"
    "         --force: delete a set a task still needs for its rollback (the task records it)\n";

/* Tasks of the local store (none when it has none) that may still need set
 * `set` of instance `uri` to roll back: one running or rolling back, one
 * whose rollback failed, one that succeeded (rolled back by request). */
static int tasks_needing(const char *state_dir, const char *uri, const char *set, struct osm_store **st,
                         struct osm_task **out, size_t *n, struct osm_err *err)
{
    *st = NULL;
    *out = NULL;
    *n = 0;
    if (osm_cli_open_store(state_dir, 1, st, err) != 0)
        return err->code == OSM_ENOTFOUND ? 0 : -1;
    static const int states[] = {OSM_TASK_RUNNING, OSM_TASK_ROLLING_BACK, OSM_TASK_ROLLBACK_FAILED,
                                 OSM_TASK_SUCCEEDED};
    struct osm_task_filter f = {.states = states, .n_states = 4, .instance = uri};
    int64_t next;
    struct osm_task *all;
    size_t nall;
    if (osm_store_query_tasks(*st, &f, &all, &nall, &next, err) != 0)
        return -1;
    for (size_t i = 0; i < nall; i++)
        if (all[i].snapshot_set && strcmp(all[i].snapshot_set, set) == 0) {
            *out = osm_xrealloc(*out, (*n + 1) * sizeof **out);
            osm_task_copy(&(*out)[(*n)++], &all[i]);
        }
    osm_task_list_free(all, nall);
    return 0;
}

/* `snapshot delete`: refused while a task needs the set, unless --force,
 * which each such task then records (its history and audit trail). */
static int delete_set(struct osm_instance *inst, const char *set, struct osm_snap_opts *opts, int force,
                      const char *state_dir)
{
    struct osm_err err = OSM_ERR_INIT;
    struct osm_store *st;
    struct osm_task *need;
    size_t n;
    int rc = OSM_EXIT_OK;
    if (tasks_needing(state_dir, inst->uri, set, &st, &need, &n, &err) != 0) {
        rc = osm_cli_fail(&err);
    } else if (n && !force) {
        osm_err_set(&err, OSM_ECONFLICT, "snapshot set %s is what task %s (%s) restores %s from; --force deletes it "
                    "anyway (the task records it)", set, need[0].id, osm_task_state_name(need[0].state), inst->uri);
        rc = osm_cli_fail(&err);
    } else if (osm_instance_snapshot_delete(inst, set, opts, &err) != 0) {
        rc = osm_cli_fail(&err);
    } else {
        for (size_t i = 0; i < n; i++) {
            char *msg = osm_xasprintf("snapshot set %s deleted with --force by %s: this task can no longer roll back",
                                      set, osm_cli_actor());
            osm_task_set_str(&need[i].snapshot_set, NULL);
            struct osm_task_change ch = {.task = &need[i], .expect_state = -1, .expect_rev = -1,
                                         .event_type = "snapshot.deleted", .event_message = msg};
            if (osm_store_commit(st, &ch, &err) != 0 ||
                osm_store_audit_add(st, need[i].id, "snapshot.deleted", osm_cli_actor(), "--force", &err) != 0)
                rc = osm_cli_fail(&err);
            free(msg);
        }
        printf("deleted snapshot set %s%s\n", set, n ? " (with --force; the task that needed it records it)" : "");
    }
    osm_task_list_free(need, n);
    osm_store_close(st);
    return rc;
}

struct shown {
    int tty;
    const char *phase, *disk;
    int done_shown;
    struct timespec start, last_line;
};

static double since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, const struct osm_snap_progress *p)
{
    struct shown *s = ctx;
    int new_phase = s->phase != p->phase || s->disk != p->disk;
    if (new_phase) {
        if (s->tty && s->phase)
            fputc('\n', stderr);
        s->phase = p->phase;
        s->disk = p->disk;
        s->done_shown = 0;
        clock_gettime(CLOCK_MONOTONIC, &s->start);
    }
    int done = p->bytes_total && p->bytes_done >= p->bytes_total && !s->done_shown;
    if (done)
        s->done_shown = 1;
    if (!s->tty && !new_phase && !done && since(&s->last_line) < 5)
        return;
    clock_gettime(CLOCK_MONOTONIC, &s->last_line);
    double t = since(&s->start);
    double rate = t > 0 ? (double)p->bytes_done / t / 1e6 : 0;
    fprintf(stderr, "%s%s %s: %.1f/%.1f MB, %llu/%llu files, %.1f MB/s%s", s->tty ? "\r" : "", p->phase,
            p->disk && p->disk[0] ? p->disk : "-", (double)p->bytes_done / 1e6, (double)p->bytes_total / 1e6,
            (unsigned long long)p->files_done, (unsigned long long)p->files_total, rate, s->tty ? "   " : "\n");
    fflush(stderr);
}

static void end_progress(struct shown *s)
{
    if (s->tty && s->phase)
        fputc('\n', stderr);
}

static json_t *info_json(const struct osm_snap_info *in)
{
    json_t *o = json_pack("{s:s*,s:s*,s:s*,s:s*,s:s*,s:b,s:I,s:I}", "id", in->id, "label", in->label, "instance",
                          in->instance, "created", in->created, "state", in->state, "restore_incomplete",
                          in->restore_incomplete, "stored_bytes", (json_int_t)in->stored_bytes, "exclusive_bytes",
                          (json_int_t)in->exclusive_bytes);
    json_t *ds = json_array();
    for (size_t i = 0; i < in->n_disks; i++) {
        const struct osm_snap_disk_info *d = &in->disks[i];
        json_t *jd = json_pack("{s:s*,s:s*,s:s*,s:I}", "id", d->id, "kind", d->kind, "path", d->path, "size",
                               (json_int_t)d->size);
        if (strcmp(d->kind, "qcow2") != 0) {
            json_object_set_new(jd, "entries", json_integer((json_int_t)d->entries));
            json_object_set_new(jd, "digest", json_string(d->digest));
        }
        json_array_append_new(ds, jd);
    }
    json_object_set_new(o, "disks", ds);
    return o;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(j);
}

static const char *human(uint64_t b, char buf[32])
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    return buf;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *pos[3] = {0};
    int npos = 0, json = 0, quiet = 0, force = 0;
    const char *label = NULL, *state_dir = NULL;
    struct osm_snap_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            return OSM_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "--state-dir") == 0 && i + 1 < argc) {
            state_dir = argv[++i];
        } else if (strcmp(a, "--label") == 0 || strcmp(a, "--snapshot-store") == 0) {
            if (i + 1 >= argc)
                return osm_cli_usage("%s needs a value\n%s", a, USAGE);
            if (a[2] == 'l')
                label = argv[++i];
            else
                opts.store = argv[++i];
        } else if (strncmp(a, "--label=", 8) == 0) {
            label = a + 8;
        } else if (strncmp(a, "--snapshot-store=", 17) == 0) {
            opts.store = a + 17;
        } else if (a[0] == '-' && a[1]) {
            return osm_cli_usage("snapshot: unknown option '%s'\n%s", a, USAGE);
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            return osm_cli_usage("snapshot: too many arguments\n%s", USAGE);
        }
    }
    if (npos < 2)
        return osm_cli_usage("snapshot: missing %s\n%s", npos ? "INSTANCE" : "a subcommand", USAGE);
    const char *sub = pos[0];
    int wants_id = strcmp(sub, "verify") == 0 || strcmp(sub, "restore") == 0 || strcmp(sub, "delete") == 0;
    int known = wants_id || strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0 || strcmp(sub, "digest") == 0;
    if (!known)
        return osm_cli_usage("snapshot: unknown subcommand '%s'\n%s", sub, USAGE);
    if (wants_id && npos != 3)
        return osm_cli_usage("snapshot %s: needs INSTANCE and SET_ID\n%s", sub, USAGE);
    if (!wants_id && npos != 2)
        return osm_cli_usage("snapshot %s: too many arguments\n%s", sub, USAGE);
    if (label && strcmp(sub, "create") != 0)
        return osm_cli_usage("snapshot %s: --label is only for create", sub);
    if (force && strcmp(sub, "delete") != 0)
        return osm_cli_usage("snapshot %s: unknown option '--force' (--force is only for delete)", sub);

    struct osm_err err = OSM_ERR_INIT;
    if (strcmp(sub, "digest") == 0) {
        char hex[65];
        if (osm_snap_tree_digest(pos[1], hex, &err) != 0)
            return osm_cli_fail(&err);
        puts(hex);
        return OSM_EXIT_OK;
    }
    struct shown shown = {.tty = isatty(2)};
    if (!quiet) {
        opts.progress = show_progress;
        opts.progress_ctx = &shown;
    }
    struct osm_instance *inst = NULL;
    if (osm_instance_open(pos[1], &inst, &err) != 0)
        return osm_cli_fail(&err);
    int rc = OSM_EXIT_OK;
    if (strcmp(sub, "create") == 0) {
        char id[64];
        if (osm_instance_snapshot_create(inst, label, &opts, id, &err) != 0) {
            end_progress(&shown);
            rc = osm_cli_fail(&err);
        } else if (end_progress(&shown), json) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_string(id));
            json_object_set_new(o, "label", json_string(label ? label : ""));
            json_object_set_new(o, "instance", json_string(inst->uri));
            print_json(o);
        } else {
            puts(id);
        }
    } else if (strcmp(sub, "list") == 0) {
        struct osm_snap_info *infos;
        size_t n;
        if (osm_instance_snapshot_list(inst, &opts, &infos, &n, &err) != 0) {
            rc = osm_cli_fail(&err);
        } else if (json) {
            json_t *a = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(a, info_json(&infos[i]));
            print_json(a);
        } else {
            printf("%-26s %-9s %-20s %-6s %10s %10s %10s  %s\n", "ID", "STATE", "CREATED", "DISKS", "SIZE", "STORED",
                   "EXCLUSIVE", "LABEL");
            for (size_t i = 0; i < n; i++) {
                uint64_t size = 0;
                for (size_t d = 0; d < infos[i].n_disks; d++)
                    size += infos[i].disks[d].size;
                char b1[32], b2[32], b3[32];
                printf("%-26s %-9s %-20s %-6zu %10s %10s %10s  %s%s\n", infos[i].id, infos[i].state,
                       infos[i].created, infos[i].n_disks, human(size, b1), human(infos[i].stored_bytes, b2),
                       human(infos[i].exclusive_bytes, b3), infos[i].label,
                       infos[i].restore_incomplete ? "  (restore not finished: run it again)" : "");
            }
            osm_instance_snapshot_list_free(inst, infos, n);
            infos = NULL;
        }
        if (rc == OSM_EXIT_OK && infos)
            osm_instance_snapshot_list_free(inst, infos, n);
    } else if (strcmp(sub, "verify") == 0) {
        if (osm_instance_snapshot_verify(inst, pos[2], &opts, &err) != 0) {
            end_progress(&shown);
            rc = osm_cli_fail(&err);
        } else {
            end_progress(&shown);
            printf("snapshot set %s: every chunk and index verified\n", pos[2]);
        }
    } else if (strcmp(sub, "restore") == 0) {
        int ok = 0;
        if (osm_instance_snapshot_revert(inst, pos[2], &opts, &ok, &err) != 0) {
            end_progress(&shown);
            rc = osm_cli_fail(&err);
        } else {
            end_progress(&shown);
            printf("restored snapshot set %s to %s: digest matches the snapshot\n", pos[2], inst->uri);
        }
    } else {
        rc = delete_set(inst, pos[2], &opts, force, state_dir);
    }
    osm_instance_close(inst);
    return rc;
}
