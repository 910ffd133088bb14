-- Jobs, their tasks and the attempt history. Unqualified names: the store sets search_path to its schema.

-- One row per job; counters change only by increments in the transaction that changes the task rows.
CREATE TABLE jobs (
  seq integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  name text NOT NULL,
  code text NOT NULL,
  priority integer NOT NULL,
  timeout_ms integer NOT NULL,
  max_attempts integer NOT NULL,
  max_losses integer NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled')),
  total integer NOT NULL,
  done integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  requeues bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint
);
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE status IN ('completed', 'cancelled');

-- The hot table: one narrow row per task, keyed (job_seq, idx) so results read in index order off the
-- primary key. state: 0 pending, 2 done, 3 failed (the scheduler's TaskState values). Fixed-width columns
-- first (no alignment padding), JSON as text (see docs/postgres.md: cheaper to ingest than jsonb, and
-- faithful to the JSON the volunteer sent). No foreign key to jobs: a COPY of a million rows would pay a
-- lookup per row, and rows are only ever deleted with their job (deleteJobs.ts).
-- Default fillfactor: 90 or 50 (room on each page for the row's one update to stay there, a HOT update)
-- made no difference to commits measured here (docs/postgres.md); worth another look once a claim
-- updates each row more than once.
CREATE TABLE tasks (
  job_seq integer NOT NULL,
  idx integer NOT NULL,
  state smallint NOT NULL DEFAULT 0,
  failures smallint NOT NULL DEFAULT 0,
  losses smallint NOT NULL DEFAULT 0,
  input text NOT NULL,
  output text,
  error text,
  PRIMARY KEY (job_seq, idx)
);

-- One row per ended attempt. The key makes a retried commit's attempt rows harmless (ON CONFLICT DO
-- NOTHING) and serves a task's history.
CREATE TABLE attempts (
  job_seq integer NOT NULL,
  idx integer NOT NULL,
  attempt text NOT NULL,
  volunteer text NOT NULL,
  leased_at bigint NOT NULL,
  ended_at bigint NOT NULL,
  outcome text NOT NULL,
  error text,
  PRIMARY KEY (job_seq, idx, attempt)
);

-- The hot tables change fast: vacuum and analyze them sooner than the defaults (20% / 10% of the table).
ALTER TABLE tasks SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE attempts SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
