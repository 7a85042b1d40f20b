/* kind_files: a task kind for tests whose steps do real, observable file
 * work on a `dir:` instance, some of it not idempotent.
 *
 * Layout: WORK/root is the instance (dir:WORK/root) with root/data holding
 * log.txt, counter and old.conf; WORK/snapshot is the "snapshot set".
 * Steps: check (idempotent), snapshot (not idempotent, no change), append a
 * line to log.txt (not idempotent), counter+1 (not idempotent), rename
 * old.conf -> new.conf (not idempotent), reboot (bumps root/boot_id; not
 * idempotent: its check compares with the boot id noted in the task before
 * it), verify (idempotent; fails when
 * root/FAIL_VERIFY exists). Rollback restores root/data from the snapshot;
 * it fails while root/FAIL_ROLLBACK exists. KIND_FILES_DELAY_MS=N makes the
 * append step sleep N ms before writing (to test that engines never run one
 * step at once). */
#ifndef KIND_FILES_H
#define KIND_FILES_H

#define KIND_FILES "test-files"

void kind_files_register(void);
/* Create WORK/root/data with its three files. 0 ok. */
int kind_files_make_root(const char *work);
/* 1 when WORK/root/data is exactly the original content, 0 otherwise. */
int kind_files_is_original(const char *work);
/* 1 when WORK/root/data is exactly the migrated content of task `id`. */
/* The simulated boot count: WORK/root/boot_id (1 at first). */
long kind_files_boot_id(const char *work);
int kind_files_is_migrated(const char *work, const char *id);

#endif
