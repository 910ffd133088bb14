/**
 * What can go wrong, as small classes with a literal `code`: the API's own codes (the `code` of its error
 * body, listed in the README), the client's (CONNECTION, JOB_CANCELLED), and a failed task (TASK_FAILED),
 * which the client hands out as a value rather than throwing.
 */
import type { ErrorBody } from '@barnraise/shared';

/** Base of every error this package makes. */
export class BarnraiseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An error reply of the REST API: `code` and `message` are the body's, `status` the HTTP status. */
export class ApiError extends BarnraiseError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

export class BadRequestError extends ApiError {
  declare readonly code: 'BAD_REQUEST';
}
/** The job's code does not parse as an ES module with a default export (the message has line:column). */
export class BadCodeError extends ApiError {
  declare readonly code: 'BAD_CODE';
}
export class BadInputError extends ApiError {
  declare readonly code: 'BAD_INPUT';
}
export class UnauthorizedError extends ApiError {
  declare readonly code: 'UNAUTHORIZED';
}
export class JobNotFoundError extends ApiError {
  declare readonly code: 'JOB_NOT_FOUND';
}
export class IdentityNotFoundError extends ApiError {
  declare readonly code: 'IDENTITY_NOT_FOUND';
}
/** A job names an asset the master does not have: upload it first (`uploadAsset`). */
export class UnknownAssetError extends ApiError {
  declare readonly code: 'UNKNOWN_ASSET';
}
/** The master's disk is full: the job or asset was not stored. */
export class StoreFullError extends ApiError {
  declare readonly code: 'STORE_FULL';
}
export class NotFoundError extends ApiError {
  declare readonly code: 'NOT_FOUND';
}
/** Cancelling a job that has completed, or retrying a cancelled one. */
export class JobFinishedError extends ApiError {
  declare readonly code: 'JOB_FINISHED';
}
export class PayloadTooLargeError extends ApiError {
  declare readonly code: 'PAYLOAD_TOO_LARGE';
}
export class IdempotencyKeyReusedError extends ApiError {
  declare readonly code: 'IDEMPOTENCY_KEY_REUSED';
}
export class RateLimitedError extends ApiError {
  declare readonly code: 'RATE_LIMITED';
  /** Seconds the master asked to wait (its Retry-After), when it said. */
  retryAfterS: number | undefined;
}
export class ShuttingDownError extends ApiError {
  declare readonly code: 'SHUTTING_DOWN';
}

const byCode: Record<string, new (status: number, code: string, message: string) => ApiError> = {
  BAD_REQUEST: BadRequestError,
  BAD_CODE: BadCodeError,
  BAD_INPUT: BadInputError,
  UNAUTHORIZED: UnauthorizedError,
  JOB_NOT_FOUND: JobNotFoundError,
  NOT_FOUND: NotFoundError,
  IDENTITY_NOT_FOUND: IdentityNotFoundError,
  UNKNOWN_ASSET: UnknownAssetError,
  STORE_FULL: StoreFullError,
  JOB_FINISHED: JobFinishedError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReusedError,
  RATE_LIMITED: RateLimitedError,
  SHUTTING_DOWN: ShuttingDownError,
};

/** The error for a non-2xx reply; `body` is its parsed JSON, or anything when it was not an error body. */
export function apiError(status: number, body: unknown, retryAfter: string | null): ApiError {
  const b = body as Partial<ErrorBody> | null;
  const code = typeof b?.code === 'string' ? b.code : `HTTP_${status}`;
  const message = typeof b?.message === 'string' ? b.message : `the master answered ${status}`;
  const Class = byCode[code] ?? ApiError;
  const err = new Class(status, code, message);
  if (err instanceof RateLimitedError && retryAfter !== null && Number.isFinite(Number(retryAfter))) err.retryAfterS = Number(retryAfter);
  return err;
}

/** The master could not be reached, or the connection broke before a reply. */
export class ConnectionError extends BarnraiseError {
  declare readonly code: 'CONNECTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** `map` or ordered results of a job that was cancelled (by someone else) before every task ended. */
export class JobCancelledError extends BarnraiseError {
  declare readonly code: 'JOB_CANCELLED';
  constructor(readonly jobId: string) {
    super('JOB_CANCELLED', `job ${jobId} was cancelled before all its tasks ended`);
  }
}

/**
 * A task that failed after its attempts: a value in `map`'s and `results()`'s output, not a thrown error.
 * `JSON.stringify` gives the REST results line (`{"index":3,"status":"failed","error":"…"}`).
 */
export class TaskError extends BarnraiseError {
  declare readonly code: 'TASK_FAILED';
  readonly status = 'failed' as const;
  constructor(
    /** The task's index in its job (the input's position). */
    readonly index: number,
    /** The last attempt's error, as the volunteer reported it. */
    message: string,
    /** Attempts the task had (its attempt history on the master); undefined when not asked for. */
    readonly attempts: number | undefined,
  ) {
    super('TASK_FAILED', message);
  }

  /** The error text, under the REST line's name. */
  get error(): string {
    return this.message;
  }

  toJSON(): { index: number; status: 'failed'; error: string } {
    return { index: this.index, status: 'failed', error: this.message };
  }
}
