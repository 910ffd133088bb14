/** Error codes of the REST API, defined once: name, HTTP status and message. Listed in the README. */
import { Type } from '@sinclair/typebox';
import { ErrorBodySchema } from '@barnraise/shared';

export const ErrorCode = {
  BAD_REQUEST: { status: 400, message: 'the request is not valid' },
  BAD_CODE: { status: 400, message: 'the job code does not parse as an ES module with a default export' },
  BAD_INPUT: { status: 400, message: 'a job input is too large or cannot be stored as JSON' },
  UNAUTHORIZED: { status: 401, message: 'missing or wrong operator token (Authorization: Bearer <token>)' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  JOB_NOT_FOUND: { status: 404, message: 'no job with this id' },
  IDENTITY_NOT_FOUND: { status: 404, message: 'no volunteer identity with this id' },
  ASSET_NOT_FOUND: { status: 404, message: 'this master has no asset with this SHA-256' },
  JOB_FINISHED: { status: 409, message: 'the job has already finished' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send JSON (Content-Type: application/json)' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'this Idempotency-Key was used with a different request body' },
  ASSET_HASH_MISMATCH: { status: 422, message: 'the uploaded bytes do not have the SHA-256 named in the URL; nothing was stored' },
  UNKNOWN_ASSET: { status: 422, message: 'the job names an asset this master does not have: upload it first (PUT /api/assets/<sha256>)' },
  RATE_LIMITED: { status: 429, message: 'too many requests from this address; retry later' },
  INTERNAL: { status: 500, message: 'internal error' },
  SHUTTING_DOWN: { status: 503, message: 'the master is shutting down' },
  STORE_FULL: { status: 507, message: 'the store is full (no disk space left): the job or asset was not accepted; retry once space is freed' },
} as const satisfies Record<string, { status: number; message: string }>;
export type ErrorCode = keyof typeof ErrorCode;

/** An error the API answers with its own status and message (never used for 5xx internals). */
export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ErrorCode[code].message,
  ) {
    super(message);
    this.statusCode = ErrorCode[code].status;
  }
}

/** The error body of a response that can carry any of `codes` (all of one status), described by their messages. */
export function errorBody<C extends ErrorCode>(codes: readonly C[]) {
  return Type.Object(
    { ...ErrorBodySchema.properties, code: Type.Unsafe<C>({ type: 'string', enum: [...codes] }) },
    { description: codes.map((c) => `\`${c}\`: ${ErrorCode[c].message}`).join('; ') },
  );
}

type StatusOf<C extends ErrorCode> = (typeof ErrorCode)[C]['status'];

/**
 * Response schemas for the error codes a route can answer, grouped by status: for its OpenAPI description
 * (each status lists its codes) and the reply's serialization. What every route shares (401 from the token
 * guard, 429 from the rate limiter, ...) is added by docs/openapi.ts, not repeated here.
 */
export function errorResponses<C extends ErrorCode>(...codes: C[]): { [S in StatusOf<C>]: ReturnType<typeof errorBody<C>> } {
  const byStatus = new Map<number, C[]>();
  for (const code of codes) byStatus.set(ErrorCode[code].status, [...(byStatus.get(ErrorCode[code].status) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorBody(list)])) as { [S in StatusOf<C>]: ReturnType<typeof errorBody<C>> };
}

/** SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100): the store has no room left (answered 507 STORE_FULL). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100' || (err instanceof Error && /database or disk is full|no space left/i.test(err.message));
}
