/** The SQLite schema, as migrations applied in order; PRAGMA user_version records how many ran. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     code TEXT NOT NULL,
     priority INTEGER NOT NULL,
     timeout_ms INTEGER NOT NULL,
     max_attempts INTEGER NOT NULL,
     max_losses INTEGER NOT NULL,
     status TEXT NOT NULL,
     total INTEGER NOT NULL,
     done INTEGER NOT NULL DEFAULT 0,
     failed INTEGER NOT NULL DEFAULT 0,
     requeues INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER
   );
   CREATE INDEX jobs_status ON jobs(status);
   -- state: 0 pending, 2 done, 3 failed (the scheduler's TaskState values)
   CREATE TABLE tasks (
     job_seq INTEGER NOT NULL,
     idx INTEGER NOT NULL,
     state INTEGER NOT NULL DEFAULT 0,
     input TEXT NOT NULL,
     output TEXT,
     error TEXT,
     failures INTEGER NOT NULL DEFAULT 0,
     losses INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (job_seq, idx)
   ) WITHOUT ROWID;`,
  // Attempt history: one row per ended attempt (written in the same group commits as results).
  `CREATE TABLE attempts (
     job_seq INTEGER NOT NULL,
     idx INTEGER NOT NULL,
     attempt TEXT NOT NULL,
     volunteer TEXT NOT NULL,
     leased_at INTEGER NOT NULL,
     ended_at INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     error TEXT
   );
   CREATE INDEX attempts_task ON attempts(job_seq, idx);`,
  // Result validation (SPEC.md section V): votes and checks, identities and their trust, known answers.
  `ALTER TABLE jobs ADD COLUMN validation TEXT;
   ALTER TABLE jobs ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE jobs ADD COLUMN inconclusive INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE replicas (
     job_seq INTEGER NOT NULL,
     attempt TEXT NOT NULL,
     idx INTEGER NOT NULL,
     identity TEXT NOT NULL,
     network TEXT NOT NULL,
     kind TEXT NOT NULL,
     ok INTEGER NOT NULL,
     hash TEXT NOT NULL,
     output TEXT,
     error TEXT,
     at INTEGER NOT NULL,
     verdict TEXT NOT NULL,
     PRIMARY KEY (job_seq, attempt)
   ) WITHOUT ROWID;
   CREATE INDEX replicas_task ON replicas(job_seq, idx);
   CREATE TABLE identities (
     id TEXT PRIMARY KEY,
     key TEXT NOT NULL,
     network TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     vouched INTEGER NOT NULL,
     streak INTEGER NOT NULL,
     trusted_checks INTEGER NOT NULL,
     checks_passed INTEGER NOT NULL,
     checks_failed INTEGER NOT NULL,
     contradicted INTEGER NOT NULL,
     banned_at INTEGER,
     ban_reason TEXT
   );
   CREATE TABLE checks (
     job_seq INTEGER NOT NULL,
     k INTEGER NOT NULL,
     idx INTEGER,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     PRIMARY KEY (job_seq, k)
   ) WITHOUT ROWID;`,
  // Several masters over one store (SPEC.md K): claims fenced by owner and generation, the masters' beats, the
  // order in which tasks became final (followers anywhere tail it), and the cluster's event log.
  `ALTER TABLE tasks ADD COLUMN owner TEXT;
   ALTER TABLE tasks ADD COLUMN gen INTEGER;
   ALTER TABLE tasks ADD COLUMN fin INTEGER;
   ALTER TABLE jobs ADD COLUMN fin INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX tasks_claimable ON tasks(job_seq, idx) WHERE state = 0 AND owner IS NULL;
   CREATE INDEX tasks_owner ON tasks(owner, gen) WHERE owner IS NOT NULL;
   CREATE INDEX tasks_fin ON tasks(job_seq, fin) WHERE fin IS NOT NULL;
   CREATE TABLE masters (
     id TEXT PRIMARY KEY,
     gen INTEGER NOT NULL,
     url TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     beat_at INTEGER NOT NULL,
     stats TEXT NOT NULL
   );
   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     t INTEGER NOT NULL,
     master TEXT NOT NULL,
     kind TEXT NOT NULL,
     text TEXT NOT NULL,
     job TEXT,
     volunteer TEXT,
     identity TEXT
   );`,
  // [K9] Each writer's last batch and the receipt it earned, so a retry of a batch that landed is not applied twice.
  `CREATE TABLE commit_receipts (
     master TEXT PRIMARY KEY,
     batch TEXT NOT NULL,
     receipt TEXT NOT NULL
   );`,
  // Claims and beats live in memory on SQLite (claims.ts): one process owns the file, and a claim that costs no
  // write, and a final write that changes no claim index, are most of what a task costs the store. [D6] The
  // attempt that makes a task done is kept on the task's row (attempt ... ended_at), not in a row of its own.
  `DROP INDEX tasks_claimable;
   DROP INDEX tasks_owner;
   DROP TABLE masters;
   UPDATE tasks SET owner = NULL, gen = NULL WHERE owner IS NOT NULL;
   ALTER TABLE tasks ADD COLUMN attempt TEXT;
   ALTER TABLE tasks ADD COLUMN volunteer TEXT;
   ALTER TABLE tasks ADD COLUMN leased_at INTEGER;
   ALTER TABLE tasks ADD COLUMN ended_at INTEGER;`,
  // Assets (SPEC.md section A): the files a job names, as JSON [{ name, sha256, size }]; the bytes are on disk.
  `ALTER TABLE jobs ADD COLUMN assets TEXT;`,
];
