-- Several masters on one database (SPEC.md K): claims fenced by owner and generation, the masters' beats,
-- each job's final tasks numbered in commit order, and the cluster's event log.

-- owner/gen: the master holding a pending task's claim (K1, K4), cleared when the task becomes final. A claim
-- given back clears owner only: a pending task with no owner and a gen was claimed before and returned.
-- fin: the task's place in its job's commit order once final (K6); jobs.fin is the last number given.
-- New columns go at the end of the row; owner stays short (a master id) and the rest are fixed-width.
ALTER TABLE tasks ADD COLUMN owner text;
ALTER TABLE tasks ADD COLUMN gen integer;
ALTER TABLE tasks ADD COLUMN fin bigint;
ALTER TABLE jobs ADD COLUMN fin bigint NOT NULL DEFAULT 0;

-- What a claim scans: a job's pending tasks nobody holds, lowest index first. A claimed or final task leaves
-- it, and its entry stays behind, dead, until vacuum: a job's first claims would step over more of them each
-- time, so a claim scans this one from where the master's last claim ended (sql/claims.ts)...
CREATE INDEX tasks_claimable ON tasks (job_seq, idx) WHERE state = 0 AND owner IS NULL;
-- ...and this small one for the tasks given back below that point.
CREATE INDEX tasks_returned ON tasks (job_seq, idx) WHERE state = 0 AND owner IS NULL AND gen IS NOT NULL;
-- Releases by master (and generation): only held tasks are in it, a few thousand rows.
CREATE INDEX tasks_owner ON tasks (owner, gen) WHERE owner IS NOT NULL;
-- A follower reads a job's results on from a number.
CREATE INDEX tasks_fin ON tasks (job_seq, fin) WHERE fin IS NOT NULL;

-- One row per live master (K2). beat_at is the database's clock in ms, so masters' clocks never matter.
CREATE TABLE masters (
  id text PRIMARY KEY,
  gen integer NOT NULL,
  url text NOT NULL,
  started_at bigint NOT NULL,
  beat_at bigint NOT NULL,
  stats jsonb NOT NULL
);

-- The cluster's event log (K7), trimmed to its newest rows by the sweep.
CREATE TABLE events (
  seq bigserial PRIMARY KEY,
  t bigint NOT NULL,
  master text NOT NULL,
  kind text NOT NULL,
  text text NOT NULL,
  job text,
  volunteer text,
  identity text
);
