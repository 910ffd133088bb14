/**
 * @barnraise/client: submit jobs to a Barnraise master and read their results, in Node 20 and in browsers.
 *
 *   const br = new Barnraise({ url, token });             // or BARNRAISE_URL / BARNRAISE_TOKEN
 *   for await (const out of br.map((n: number) => n * n, [1, 2, 3])) console.log(out);
 */
export { Barnraise, moduleOf, type BarnraiseOptions, type JobCode, type MapOptions, type SubmitOptions } from './client.ts';
export { Job, type CallOptions, type DoneTask, type PollOptions, type ResultsOptions, type TaskResult } from './job.ts';
export { isFinished, RateMeter, type Progress } from './progress.ts';
export { followResults, inIndexOrder, ndjson } from './follow.ts';
export * from './errors.ts';
export type { CreateJobBody, IdentityPage, IdentityRow, JobDetail, JobList, JobStatus, JobSummary, ResultLine, Site, Stats, TaskDetailReply } from '@barnraise/shared';
