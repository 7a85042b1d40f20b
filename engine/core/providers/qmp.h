/* qmp.h: a client of QEMU's two JSON-lines protocols over a unix socket.
 *
 *   OSM_QMP_MONITOR  QMP: greeting, then qmp_capabilities; asynchronous
 *                    events ({"event": ...}) are queued, never lost, and
 *                    handed out by osm_qmp_wait_event.
 *   OSM_QMP_AGENT    the guest agent (QGA): no greeting; the stream is
 *                    resynchronised with guest-sync-delimited (a 0xFF byte
 *                    sent, then answers read after the agent's 0xFF) on
 *                    connect and after any call that timed out.
 *
 * Every command carries an "id" (unique across connections) and only the
 * answer with that id is taken: answers to a call that timed out, or that
 * an agent of a previous boot still gives, are dropped.
 *
 * Every call has a time limit in milliseconds. Errors name the socket and
 * the command: "QMP /run/web01/qmp.sock: blockdev-add: GenericError: ...",
 * "guest agent /run/web01/qga.sock: guest-exec: no answer within 5000 ms".
 * One connection is used by one thread at a time. */
#ifndef OSM_QMP_H
#define OSM_QMP_H

#include <jansson.h>

#include "osm_error.h"

enum osm_qmp_kind { OSM_QMP_MONITOR, OSM_QMP_AGENT };

struct osm_qmp;

/* Connects (retrying while the socket is absent or refuses, up to
 * timeout_ms: QEMU may still be starting) and negotiates (within timeout_ms,
 * at least 1 s). */
int osm_qmp_connect(const char *path, enum osm_qmp_kind kind, int timeout_ms, struct osm_qmp **out,
                    struct osm_err *err);
void osm_qmp_close(struct osm_qmp *c);
const char *osm_qmp_path(const struct osm_qmp *c);

/* Runs `cmd` with `args` (a JSON object, stolen; NULL for none) and waits
 * for its answer. `ret` (may be NULL) receives the "return" value (a new
 * reference). An {"error": ...} answer fails with its class and text. */
int osm_qmp_call(struct osm_qmp *c, const char *cmd, json_t *args, int timeout_ms, json_t **ret,
                 struct osm_err *err);
/* A command that has no answer when it works (guest-shutdown: the guest
 * goes down first). Returns 1 when an answer came (and it was not an error),
 * 0 when none came within timeout_ms or the peer hung up; -1 on an error
 * answer or a failed write. */
int osm_qmp_call_noreply(struct osm_qmp *c, const char *cmd, json_t *args, int timeout_ms, struct osm_err *err);

/* Monitor only: the first queued or arriving event named `event` (NULL:
 * any), removed from the queue. `ev` (may be NULL) receives the whole event
 * object (a new reference: "event", "data", "timestamp"). Events that are
 * not wanted stay queued in order. */
int osm_qmp_wait_event(struct osm_qmp *c, const char *event, int timeout_ms, json_t **ev, struct osm_err *err);
/* Drops every queued event. */
void osm_qmp_clear_events(struct osm_qmp *c);
/* The time of a QMP event in microseconds since the epoch (its "timestamp"). */
long long osm_qmp_event_usec(const json_t *ev);

#endif
