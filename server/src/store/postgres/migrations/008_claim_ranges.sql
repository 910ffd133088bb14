-- [K1] Claims as ranges: a master's claim of a job's fresh tasks is one row here, [lo, hi) of the job's
-- indices for (master, gen), and touches no task row; before, every claimed task was a row version of its own
-- (owner and gen set), with its index entries, row lock and WAL: about a third of what PostgreSQL spent on a
-- task. A task row with gen NULL that is pending is held by the range that covers its index, if any; one with
-- gen set was handled one by one (given back, freed, reset: owner NULL, claimable; or claimed so: owner set),
-- as before. Freeing a range marks its pending rows so (gen set, owner NULL) and deletes it.
CREATE TABLE claims (
  job_seq integer NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
  lo integer NOT NULL,
  hi integer NOT NULL,
  master text NOT NULL,
  gen integer NOT NULL,
  PRIMARY KEY (job_seq, lo)
);
CREATE INDEX claims_master ON claims (master, gen);

-- Where each job's next fresh range starts (`next`); `lo` is the start of the last range given, read back by
-- the claim that gave it. Made by a job's first claim. Indices below `next` were claimed once: a pending task
-- among them is held by its range or was handled one by one.
CREATE TABLE claim_cursors (
  job_seq integer PRIMARY KEY REFERENCES jobs (seq) ON DELETE CASCADE,
  lo integer NOT NULL,
  next integer NOT NULL,
  total integer NOT NULL
);

-- Claims no longer scan a job's fresh tasks row by row (the range read goes by primary key), so this index,
-- one entry for every task ingested, serves nothing; tasks_returned (handled one by one) stays.
DROP INDEX IF EXISTS tasks_claimable;
