-- [K9] Each writer's last batch and the receipt it earned: a retry of a batch whose COMMIT landed but was
-- never confirmed (the connection died) answers with that receipt instead of applying the batch twice.
-- A master's commits lock its row first, so a retry also waits for a first try still running on the server.
CREATE TABLE commit_receipts (
  master text PRIMARY KEY,
  batch text NOT NULL,
  receipt text NOT NULL
);
