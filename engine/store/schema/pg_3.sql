-- PostgreSQL schema, version 3: the audit trail and what an admin controls.
-- audit: who (an API key id, or "local:USER" for the CLI on the host) did
-- what to which job, task or key, append-only; read by object.
-- jobs.state: active, paused (no task starts) or cancelled; the scheduler
-- starts tasks of active jobs only. api_keys.expires: unix time after which
-- the key is refused (0: never).
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE audit(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  object text NOT NULL,
  action text NOT NULL,
  actor text NOT NULL,
  detail text);
CREATE INDEX audit_by_object ON audit(object, seq);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION osmig_append_only('the audit trail');
ALTER TABLE jobs ADD COLUMN state text NOT NULL DEFAULT 'active';
ALTER TABLE api_keys ADD COLUMN expires bigint NOT NULL DEFAULT 0;
