-- Assets (SPEC.md section A): the files a job names, as JSON text [{ "name", "sha256", "size" }] (null for a
-- job that names none). The bytes are not here: each master keeps them on its own disk (A2).
ALTER TABLE jobs ADD COLUMN assets text;
