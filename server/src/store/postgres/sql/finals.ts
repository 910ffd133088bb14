/**
 * [K6] Each job's final tasks in commit order (migrations/009_finals.sql): a commit adds one run per job
 * (closeJobs in jobs.ts), and a follower reads runs on from its place (reads.ts). A failed task retried (J4)
 * leaves its old place marked.
 */

/** A job's index in a run that no longer stands for a final task. No task has it. */
export const STALE_ENTRY = -1;
