/* snap_same: is a tree still exactly what a set's index recorded?
 *
 * The fast path of an unchanged re-snapshot. It takes the previous index as
 * the list of what to look at (read from its side file, snap_same_save,
 * when it has one), checks every entry with one fstatat on every
 * worker at once, and answers yes only when each entry's mode (type
 * included), owner, size, atime, mtime, ctime, inode, device and device
 * number are what the index holds. The new set's index would then be the
 * previous one byte for byte: the create links that file instead of walking
 * the tree and writing it again.
 *
 * Why that sees every change: ctime moves on every change of content, owner,
 * mode, xattrs and link count and cannot be set back; a directory's mtime and
 * ctime move on every name created, removed or renamed in it, so a directory
 * whose stat is unchanged holds the same names, and with every entry found
 * the tree has exactly the index's entries. (The staging directory, which the
 * walk skips, moves the root's times when it is made; a mount changes the
 * stat of the directory it covers.) What it cannot check — a directory
 * deeper than it keeps descriptors for, any error — counts as a change, and
 * the create walks the tree as before, and so does an entry the racy rule
 * (below) does not trust. */
#ifndef SNAP_SAME_H
#define SNAP_SAME_H

#include <stdint.h>

#include "osm_error.h"

/* The racy rule (as git's for its index): a set recorded each entry's stat
 * at some instant after `started`. A change in the same timestamp tick
 * after that instant leaves ctime as it was, so an entry whose ctime is not
 * clearly older than `started` cannot be trusted by its stat alone: the
 * next create reads it again. "Clearly": by more than the filesystem's
 * timestamp granularity: 100 ms where ctime has nanoseconds (the kernel
 * stamps with its clock tick, a few ms), 2 s where it has whole seconds
 * only (ext4 with 128-byte inodes). A mass change (a restore, a package
 * upgrade) just before a set therefore costs the next create a walk, not a
 * wrong set.
 *
 * 1 when an entry with that ctime, recorded by a set that began at
 * `started_ns` (CLOCK_REALTIME; 0: unknown, nothing is trusted), is
 * trusted by its stat. */
int snap_stat_trusted(int64_t ctime_ns, int64_t started_ns);

/* 1 when the tree at `root` is unchanged since the index at `index_path`
 * (whose SHA-256 must be `index_sha256`), written by a set that began at
 * `started_ns`, 0 otherwise. `side_path` (may be NULL) is the index's side
 * file (snap_same_save): when it is there and sound the check reads the
 * entries from it instead of decoding the index; a set written before side
 * files has none, and its index is decoded as before. Either way the
 * index's SHA-256 is checked: a corrupt index (or side file) is a change. */
int snap_tree_unchanged(const char *root, const char *index_path, const char *index_sha256, const char *side_path,
                        int64_t started_ns, int threads);

/* Writes the side file of the index `ix` (a tree's, in index order) whose
 * file has SHA-256 `index_sha256`, at `path` (temp file and rename, not
 * synced: a torn or missing side file is only a slower next check, its own
 * hash says so). 0, or -1 with `err` (an index it cannot describe, any
 * error; `path` is then removed). */
struct snap_index;
int snap_same_save(const struct snap_index *ix, const char *index_sha256, const char *path, struct osm_err *err);

/* The same check in two halves, so that the caller can wait for its own
 * I/O (the new set's first fsyncs) while `threads` threads check: start
 * returns at once (NULL when the root cannot be opened: that counts as a
 * change); finish joins the check on the calling thread, waits for it and
 * frees it, returning what snap_tree_unchanged would. Every started check
 * must be finished. */
struct snap_same_check;
struct snap_same_check *snap_same_start(const char *root, const char *index_path, const char *index_sha256,
                                        const char *side_path, int64_t started_ns, int threads);
int snap_same_finish(struct snap_same_check *c);
/* snap_same_finish, and when the tree is unchanged and the check decoded
 * the index (it had no side file), its records are written as the side
 * file `side_out` of that index: a set written before side files gets one
 * for the next check. */
int snap_same_finish_saving(struct snap_same_check *c, const char *side_out);

#endif
