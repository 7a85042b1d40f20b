/* win_fs: finding paths on a Windows volume seen from Linux, where names are
 * case-insensitive but the host file system is not. Symlinks are never
 * followed, so a crafted root cannot lead a lookup outside itself. */
#ifndef WIN_FS_H
#define WIN_FS_H

#include <stdint.h>

/* Resolve REL ("Windows/System32/config/SOFTWARE", '/'-separated, no "..")
 * under ROOT matching each component case-insensitively. Returns the host
 * path (caller frees) or NULL when some component is missing. */
char *win_fs_find(const char *root, const char *rel);
/* Bytes used by the tree at PATH (allocated blocks); -1 if unreadable. */
int64_t win_fs_tree_bytes(const char *path);

#endif
