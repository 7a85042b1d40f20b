-- SQLite schema, version 6: the audit trail and what an admin controls.
-- audit: who (an API key id, or "local:USER" for the CLI on the host) did
-- what to which job, task or key, append-only; read by object.
-- jobs.state: active, paused (no task starts) or cancelled; the scheduler
-- starts tasks of active jobs only. api_keys.expires: unix time after which
-- the key is refused (0: never).
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE audit(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  object TEXT NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  detail TEXT);
CREATE INDEX audit_by_object ON audit(object, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
ALTER TABLE jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE api_keys ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
