-- Result validation (SPEC.md section V): votes and checks, identities and their trust, known answers.

-- validation: the job's policy as JSON text (null for a job without validation). replicas: results received
-- (votes and checks); inconclusive: tasks failed for want of agreement. Both change by increments (pg-store.ts).
ALTER TABLE jobs ADD COLUMN validation text;
ALTER TABLE jobs ADD COLUMN replicas bigint NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN inconclusive integer NOT NULL DEFAULT 0;

-- One row per replica's outcome (kind 'vote') or known-answer check's (kind 'check'). Attempt ids are
-- unique, so the key makes a retried commit's rows a no-op (ON CONFLICT DO NOTHING); only the verdict
-- changes afterwards. ok: the attempt returned an output (else output is null and hash is the failure hash).
CREATE TABLE replicas (
  job_seq integer NOT NULL,
  attempt text NOT NULL,
  idx integer NOT NULL,
  ok boolean NOT NULL,
  at bigint NOT NULL,
  identity text NOT NULL,
  network text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('vote', 'check')),
  hash text NOT NULL,
  verdict text NOT NULL,
  output text,
  error text,
  PRIMARY KEY (job_seq, attempt)
);
CREATE INDEX replicas_task ON replicas (job_seq, idx);

-- Volunteer identities and their trust (rules V3, V5). seq: insertion order, for the newest-first list.
CREATE TABLE identities (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  key text NOT NULL,
  network text NOT NULL,
  created_at bigint NOT NULL,
  state text NOT NULL,
  vouched boolean NOT NULL,
  streak integer NOT NULL,
  trusted_checks integer NOT NULL,
  checks_passed integer NOT NULL,
  checks_failed integer NOT NULL,
  contradicted integer NOT NULL,
  banned_at bigint,
  ban_reason text
);

-- The known answers an operator gave with a job, in the order given (k). idx: the task index it stands as,
-- when the operator named one.
CREATE TABLE checks (
  job_seq integer NOT NULL,
  k integer NOT NULL,
  idx integer,
  input text NOT NULL,
  output text NOT NULL,
  PRIMARY KEY (job_seq, k)
);
