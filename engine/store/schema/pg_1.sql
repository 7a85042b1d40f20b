-- PostgreSQL schema, version 1: tasks, their history and step journal (append-only: statement triggers,
-- which fire even when no row matches, and on TRUNCATE), jobs, keys, nonces.
-- tasks_claimed is exactly the claimed-waiting predicate of claim_waiting's
-- count: used even before the planner has statistics (right after a big
-- job).
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE jobs(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  client_token text UNIQUE,
  name text,
  max_concurrency text,
  max_errors text,
  stop_reason text,
  spec text NOT NULL DEFAULT '{}',
  created bigint NOT NULL,
  updated bigint NOT NULL,
  rev bigint NOT NULL DEFAULT 0);
CREATE TABLE tasks(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  kind text NOT NULL,
  instance text NOT NULL,
  target text,
  state text NOT NULL,
  phase text NOT NULL,
  step integer NOT NULL DEFAULT 0,
  attempted integer NOT NULL DEFAULT 0,
  changed integer NOT NULL DEFAULT 0,
  progress double precision NOT NULL DEFAULT 0,
  progress_msg text,
  not_before bigint NOT NULL DEFAULT 0,
  maint_window text,
  latest_start bigint NOT NULL DEFAULT 0,
  snapshot_set text,
  error_code text,
  cause text,
  options text NOT NULL DEFAULT '{}',
  data text NOT NULL DEFAULT '{}',
  owner text,
  lease_until bigint NOT NULL DEFAULT 0,
  rev bigint NOT NULL DEFAULT 0,
  job_id text REFERENCES jobs(id),
  created bigint NOT NULL,
  updated bigint NOT NULL);
CREATE UNIQUE INDEX tasks_one_per_instance ON tasks(instance) WHERE state NOT IN ('succeeded','failed','rolled_back','cancelled','expired');
CREATE INDEX tasks_due ON tasks(state, not_before) WHERE state IN ('submitted','scheduled');
CREATE INDEX tasks_expiring ON tasks(state, latest_start) WHERE state IN ('submitted','scheduled') AND latest_start > 0;
CREATE INDEX tasks_by_state ON tasks(state, seq);
CREATE INDEX tasks_by_job ON tasks(job_id, seq);
CREATE INDEX tasks_by_job_state ON tasks(job_id, state);
CREATE INDEX tasks_by_instance ON tasks(instance, seq);
CREATE INDEX tasks_waiting ON tasks(seq) WHERE state IN ('submitted','scheduled');
CREATE INDEX tasks_claimed ON tasks(job_id, lease_until) WHERE owner IS NOT NULL AND state IN ('submitted','scheduled');
CREATE TABLE task_events(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id text NOT NULL REFERENCES tasks(id),
  at bigint NOT NULL,
  type text NOT NULL,
  message text);
CREATE INDEX task_events_by_task ON task_events(task_id, seq);
CREATE TABLE step_journal(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id text NOT NULL REFERENCES tasks(id),
  at bigint NOT NULL,
  step_index integer NOT NULL,
  step text NOT NULL,
  what text NOT NULL CHECK (what IN ('intent','outcome')),
  result text,
  detail text);
CREATE INDEX step_journal_by_task ON step_journal(task_id, seq);
CREATE FUNCTION osmig_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION '% is append-only', TG_ARGV[0]; END $$;
CREATE TRIGGER task_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON task_events
  FOR EACH STATEMENT EXECUTE FUNCTION osmig_append_only('task history');
CREATE TRIGGER step_journal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON step_journal
  FOR EACH STATEMENT EXECUTE FUNCTION osmig_append_only('step journal');
CREATE TABLE api_keys(
  id text PRIMARY KEY,
  role text NOT NULL,
  scope text,
  sealed_secret text NOT NULL,
  created bigint NOT NULL,
  disabled integer NOT NULL DEFAULT 0);
CREATE TABLE nonces(
  key_id text NOT NULL,
  nonce text NOT NULL,
  expires bigint NOT NULL,
  PRIMARY KEY(key_id, nonce));
CREATE INDEX nonces_by_expiry ON nonces(expires);
