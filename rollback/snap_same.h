/* snap_same: is a tree still exactly what a set's index recorded?
 *
 * The fast path of an unchanged re-snapshot. It takes the previous index as
 * the list of what to look at, checks every entry with one fstatat on every
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
 * the create walks the tree as before. */
#ifndef SNAP_SAME_H
#define SNAP_SAME_H


/* 1 when the tree at `root` is unchanged since the index at `index_path`
 * (whose SHA-256 must be `index_sha256`) was written, 0 otherwise. */
int snap_tree_unchanged(const char *root, const char *index_path, const char *index_sha256, int threads);

/* The same check in two halves, so that the caller can wait for its own
 * I/O (the new set's first fsyncs) while `threads` threads check: start
 * returns at once (NULL when the root cannot be opened: that counts as a
 * change); finish joins the check on the calling thread, waits for it and
 * frees it, returning what snap_tree_unchanged would. Every started check
 * must be finished. */
struct snap_same_check;
struct snap_same_check *snap_same_start(const char *root, const char *index_path, const char *index_sha256,
                                        int threads);
int snap_same_finish(struct snap_same_check *c);

#endif
