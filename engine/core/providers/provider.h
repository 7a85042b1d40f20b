/* provider.h: where an instance lives, as one small table of functions.
 *
 * An instance is named by a URI whose scheme picks the provider:
 *   dir:/srv/roots/web01                  a root tree on this host
 *   dir:/srv/roots/web01?disk=/srv/data/web01&disk=/img/web01-data.qcow2
 *   dir:/etc/osmig/web01.json             an instance descriptor (see dir.c)
 *   qemu:/srv/vms/web01.json              a VM run by QEMU (qemu.c, docs/qemu.md)
 * Later: ecs:i-xxxx?region=cn-hangzhou.
 *
 * The controller only talks to an instance through this table, so that the
 * same phases run against a root tree, a VM or a cloud instance. A provider
 * leaves a function NULL when it cannot do that operation; callers report
 * that as unsupported. */
#ifndef OSM_PROVIDER_H
#define OSM_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "osm_buf.h"
#include "osm_error.h"
#include "snapset.h"

enum osm_disk_kind {
    OSM_DISK_TREE,  /* a directory tree (a mounted filesystem) */
    OSM_DISK_RAW,   /* a raw disk image file */
    OSM_DISK_QCOW2, /* a qcow2 disk image file */
};

struct osm_disk {
    char *id;   /* stable within the instance: "system", "disk1", "disk2", ... */
    char *path; /* absolute host path */
    enum osm_disk_kind kind;
    int system; /* 1 for the system disk */
};

/* What the prechecks need to know. -1 / 0 / "" mean "unknown". */
struct osm_facts {
    int vcpus;
    int64_t memory_bytes;
    int64_t system_disk_free_bytes;
    int64_t system_disk_size_bytes;
    char region[64];
    char zone[64];
    int64_t heartbeat;   /* unix time of the agent's last heartbeat; 0 unknown */
    int authorized;      /* osmig may act on the instance */
    char os[128];        /* the running system as its agent names it ("CentOS Linux 7 (Core)"); "" unknown */
    char kernel[128];    /* the running kernel's release; "" unknown */
};

struct osm_instance;

struct osm_provider {
    const char *scheme;
    int (*open)(struct osm_instance *inst, const char *rest, struct osm_err *err);
    void (*close)(struct osm_instance *inst);
    int (*facts)(struct osm_instance *inst, struct osm_facts *out, struct osm_err *err);
    /* Reboot and wait for the next boot, at most `limit_s` seconds (0: the
     * provider's own limit); `boot_id` receives an id of that boot. */
    int (*reboot)(struct osm_instance *inst, int limit_s, char boot_id[64], struct osm_err *err);
    /* Run a command inside the instance; returns its exit status. */
    int (*run)(struct osm_instance *inst, const char *const argv[], struct osm_buf *out, struct osm_err *err);
    int (*attach_disk)(struct osm_instance *inst, const char *image, struct osm_err *err);
    int (*detach_disk)(struct osm_instance *inst, const char *image, struct osm_err *err);
    /* Snapshot sets of every disk (snapset.h): one set is all disks or
     * nothing. Create gives the ready set's id; revert puts every disk back
     * as it was in the set (`digest_ok`, may be NULL: 1 when the system
     * disk's content equals the recorded one); delete removes it. A
     * provider whose disks are host paths uses osmig's own store
     * (rollback/osm_snapshot.h); one of VMs or cloud disks its own. */
    int (*snapshot_create)(struct osm_instance *inst, const char *label, const struct osm_snap_opts *o,
                           char id_out[64], struct osm_err *err);
    int (*snapshot_list)(struct osm_instance *inst, const struct osm_snap_opts *o, struct osm_snap_info **out,
                         size_t *n_out, struct osm_err *err);
    int (*snapshot_verify)(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                           struct osm_err *err);
    int (*snapshot_revert)(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o, int *digest_ok,
                           struct osm_err *err);
    int (*snapshot_delete)(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                           struct osm_err *err);
    /* Frees what snapshot_list gave. */
    void (*snapshot_list_free)(struct osm_snap_info *infos, size_t n);
    /* Copy a regular host file to an absolute path inside the instance, and
     * back out. The destination is replaced whole or not at all (no partial
     * file under its name); a write into an instance stays inside it. */
    int (*copy_in)(struct osm_instance *inst, const char *host_path, const char *guest_path, struct osm_err *err);
    int (*copy_out)(struct osm_instance *inst, const char *guest_path, const char *host_path, struct osm_err *err);
    /* Power: stop shuts the instance down cleanly (its system puts its file
     * systems away) and returns once it is off; start starts it and returns
     * once it answers. Both do nothing when it is so already. */
    int (*stop)(struct osm_instance *inst, struct osm_err *err);
    int (*start)(struct osm_instance *inst, struct osm_err *err);
    /* Attach NIC `nic` (NULL: the first) to `network` with `mac` from the
     * next start on, kept in the instance's configuration; the instance is
     * stopped. The network and MAC it had come back in old_*. With network
     * NULL nothing changes: old_* are the NIC's values now. */
    int (*nic_set)(struct osm_instance *inst, const char *nic, const char *network, const char *mac,
                   char old_network[64], char old_mac[32], struct osm_err *err);
};

struct osm_instance {
    char *uri;                         /* canonical (osm_instance_canonical_uri) */
    char *name;                        /* short display name */
    const struct osm_provider *provider;
    char *root;                        /* host path of the system root (dir); NULL otherwise */
    struct osm_disk *disks;            /* disks[0] is the system disk */
    size_t n_disks;
    char *descriptor_path;             /* descriptor file, if any */
    void *descriptor;                  /* parsed descriptor (json_t *), if any */
    void *priv;
};

/* The provider table, in order; NULL past the last. */
const struct osm_provider *osm_provider_at(size_t i);
/* "dir, qemu": the known schemes, for messages. Caller frees. */
char *osm_provider_schemes(void);
/* Parse `uri`, pick the provider, open the instance. Errors name the URI. */
int osm_instance_open(const char *uri, struct osm_instance **out, struct osm_err *err);
/* An instance has one identity however it is named: the opened instance's
 * uri is canonical (dir: every path resolved, symlinks of the path itself
 * included, and normalised; the same string for every spelling). Every
 * entry point keys on it: the one-task-per-instance lock, key scopes,
 * snapshot sets. */
int osm_instance_canonical_uri(const char *uri, char **out, struct osm_err *err);
/* Every path the instance is made of, as "SCHEME:PATH" (its descriptor, then
 * each disk, the system root first), canonical: what a key's scope must
 * cover. Returns the count; free with osm_instance_names_free. */
size_t osm_instance_names(const struct osm_instance *inst, char ***out);
void osm_instance_names_free(char **names, size_t n);
void osm_instance_close(struct osm_instance *inst);
/* Facts with the descriptor's overrides applied. */
int osm_instance_facts(struct osm_instance *inst, struct osm_facts *out, struct osm_err *err);

/* The provider's snapshot-set operations; an OSM_EUNSUPPORTED error naming
 * the instance when its provider has none. */
int osm_instance_snapshot_create(struct osm_instance *inst, const char *label, const struct osm_snap_opts *o,
                                 char id_out[64], struct osm_err *err);
int osm_instance_snapshot_list(struct osm_instance *inst, const struct osm_snap_opts *o, struct osm_snap_info **out,
                               size_t *n_out, struct osm_err *err);
void osm_instance_snapshot_list_free(struct osm_instance *inst, struct osm_snap_info *infos, size_t n);
int osm_instance_snapshot_verify(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 struct osm_err *err);
int osm_instance_snapshot_revert(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 int *digest_ok, struct osm_err *err);
int osm_instance_snapshot_delete(struct osm_instance *inst, const char *id, const struct osm_snap_opts *o,
                                 struct osm_err *err);

extern const struct osm_provider osm_provider_dir;
extern const struct osm_provider osm_provider_qemu;

#endif
