-- SQLite schema, version 2: the phase runner: step position, schedule, snapshot set, step notes,
-- claims, and the step journal.
-- Append-only: a released version never changes (stores in the field are at it).
ALTER TABLE tasks ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN attempted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN progress_msg TEXT;
ALTER TABLE tasks ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN maint_window TEXT;
ALTER TABLE tasks ADD COLUMN latest_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN snapshot_set TEXT;
ALTER TABLE tasks ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_by_state ON tasks(state);
CREATE TABLE step_journal(
  seq INTEGER PRIMARY KEY,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  at INTEGER NOT NULL,
  step_index INTEGER NOT NULL,
  step TEXT NOT NULL,
  what TEXT NOT NULL CHECK (what IN ('intent','outcome')),
  result TEXT,
  detail TEXT);
CREATE INDEX step_journal_by_task ON step_journal(task_id, seq);
CREATE TRIGGER step_journal_no_update BEFORE UPDATE ON step_journal
  BEGIN SELECT RAISE(ABORT, 'step journal is append-only'); END;
CREATE TRIGGER step_journal_no_delete BEFORE DELETE ON step_journal
  BEGIN SELECT RAISE(ABORT, 'step journal is append-only'); END;
