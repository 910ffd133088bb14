/** Error codes of the REST API, defined once: name, HTTP status and message. Listed in the README. */
export const ErrorCode = {
  BAD_REQUEST: { status: 400, message: 'the request is not valid' },
  BAD_CODE: { status: 400, message: 'the job code does not parse as an ES module with a default export' },
  BAD_INPUT: { status: 400, message: 'a job input is too large or cannot be stored as JSON' },
  UNAUTHORIZED: { status: 401, message: 'missing or wrong operator token (Authorization: Bearer <token>)' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  JOB_NOT_FOUND: { status: 404, message: 'no job with this id' },
  JOB_FINISHED: { status: 409, message: 'the job has already finished' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send JSON (Content-Type: application/json)' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'this Idempotency-Key was used with a different request body' },
  RATE_LIMITED: { status: 429, message: 'too many requests from this address; retry later' },
  INTERNAL: { status: 500, message: 'internal error' },
  SHUTTING_DOWN: { status: 503, message: 'the master is shutting down' },
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
