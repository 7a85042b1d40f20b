-- SQLite schema, version 1: tasks and their history (append-only).
-- Append-only: a released version never changes (stores in the field are at it).
CREATE TABLE tasks(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  instance TEXT NOT NULL,
  target TEXT,
  state TEXT NOT NULL,
  phase TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  error_code TEXT,
  cause TEXT,
  options TEXT NOT NULL DEFAULT '{}',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL);
CREATE UNIQUE INDEX tasks_one_per_instance ON tasks(instance) WHERE state<>'succeeded' AND state<>'failed' AND state<>'rolled_back' AND state<>'cancelled' AND state<>'expired';
CREATE TABLE task_events(
  seq INTEGER PRIMARY KEY,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  message TEXT);
CREATE INDEX task_events_by_task ON task_events(task_id, seq);
CREATE TRIGGER task_events_no_update BEFORE UPDATE ON task_events
  BEGIN SELECT RAISE(ABORT, 'task history is append-only'); END;
CREATE TRIGGER task_events_no_delete BEFORE DELETE ON task_events
  BEGIN SELECT RAISE(ABORT, 'task history is append-only'); END;
