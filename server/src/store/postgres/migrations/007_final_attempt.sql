-- [D6] The attempt that makes a task done is kept on the task's row (who ran it, leased and ended when),
-- not in an attempts row of its own: one row a task in the common case. Nullable, fixed-width but the ids.
ALTER TABLE tasks ADD COLUMN leased_at bigint;
ALTER TABLE tasks ADD COLUMN ended_at bigint;
ALTER TABLE tasks ADD COLUMN attempt text;
ALTER TABLE tasks ADD COLUMN volunteer text;
