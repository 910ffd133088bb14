/** Messages between the headless volunteer and its compute threads. */
import type { AttemptOutcome } from '@barnraise/shared';

export interface ThreadRequest {
  a: string;
  job: string;
  /** Sent only the first time this thread sees the job. */
  code?: string;
  i: number;
  input: unknown;
}

export type ThreadReply =
  | { type: 'progress'; a: string; p: number }
  | { type: 'done'; a: string; outcome: AttemptOutcome }
  /** The thread has loaded and takes attempts (booting one under tsx costs ~350 ms of CPU). */
  | { type: 'ready' };
