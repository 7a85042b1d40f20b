-- SQLite schema, version 3: the fleet: jobs of many tasks, access keys, request nonces, and the
-- indexes that page the task list by seq under filters. In SQLite an index
-- ends with the rowid (seq), so tasks_by_job is (job_id, seq). Waiting is
-- written (state='submitted' OR state='scheduled') exactly as the queries
-- write it: SQLite matches a partial index by the term.
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE jobs(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  client_token TEXT,
  name TEXT,
  max_concurrency TEXT,
  max_errors TEXT,
  stop_reason TEXT,
  spec TEXT NOT NULL DEFAULT '{}',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  rev INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX jobs_by_token ON jobs(client_token) WHERE client_token IS NOT NULL;
ALTER TABLE tasks ADD COLUMN job_id TEXT REFERENCES jobs(id);
CREATE INDEX tasks_due ON tasks(state, not_before) WHERE (state='submitted' OR state='scheduled');
CREATE INDEX tasks_expiring ON tasks(state, latest_start) WHERE (state='submitted' OR state='scheduled') AND latest_start > 0;
CREATE INDEX tasks_by_job ON tasks(job_id);
CREATE INDEX tasks_by_job_state ON tasks(job_id, state);
CREATE INDEX tasks_by_instance ON tasks(instance);
CREATE INDEX tasks_waiting ON tasks(seq) WHERE (state='submitted' OR state='scheduled');
CREATE INDEX tasks_claimed ON tasks(job_id) WHERE owner IS NOT NULL AND (state='submitted' OR state='scheduled');
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  scope TEXT,
  sealed_secret TEXT NOT NULL,
  created INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE nonces(
  key_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY(key_id, nonce)) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces(expires);
