-- PostgreSQL schema, version 2: the scheduler's pages of startable tasks in start order
-- (list_waiting_page): a cursor on (not_before, seq) within a state.
-- Append-only: a released version never changes (stores in the field are at it).
CREATE INDEX tasks_startable ON tasks(state, not_before, seq) WHERE state IN ('submitted','scheduled');
