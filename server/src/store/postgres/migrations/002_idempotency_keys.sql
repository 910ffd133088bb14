-- Idempotency-Key -> the job it makes (rule S5). The primary key is what gives two masters reserving one
-- key at the same moment a single winner (INSERT ... ON CONFLICT DO NOTHING RETURNING).
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  job_id text NOT NULL,
  body_sha256 text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
