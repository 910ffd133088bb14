/** Error codes of the REST API, defined once: name, HTTP status and message. Listed in the README. */
export const ErrorCode = {
  BAD_REQUEST: { status: 400, message: 'the request is not valid' },
  BAD_CODE: { status: 400, message: 'the job code does not parse as an ES module with a default export' },
  UNAUTHORIZED: { status: 401, message: 'missing or wrong operator token (Authorization: Bearer <token>)' },
  JOB_NOT_FOUND: { status: 404, message: 'no job with this id' },
  JOB_FINISHED: { status: 409, message: 'the job has already finished' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the request body is too large' },
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
