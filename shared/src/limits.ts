/** Limits the master enforces and the volunteer page respects. One place, so both sides agree. */
export const Limits = {
  /** Largest WebSocket frame a volunteer may send (results are batched, so this bounds a batch). */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Largest JSON-encoded output of one task. */
  maxResultBytes: 1024 * 1024,
  /** Largest job code module, in bytes of source. */
  maxCodeBytes: 1024 * 1024,
  /** Most inputs in one job. */
  maxInputs: 2_000_000,
  /** Most leases one connection may hold at once, whatever it asks for (no hoarding). */
  maxCreditsPerConnection: 256,
  /** Most threads a volunteer may claim. */
  maxThreads: 256,
  /** Longest error message kept for a failed attempt. */
  maxErrorChars: 2000,
  /** Longest job name. */
  maxNameChars: 200,
  /** Largest JSON-encoded input of one task (a task frame carries it to a volunteer). */
  maxInputBytes: 1024 * 1024,
  /**
   * Most input bytes the master puts in one `tasks` frame, and most bytes it lets wait unsent on one
   * connection before it leases that connection more (a volunteer that stops reading cannot make the
   * master buffer without bound).
   */
  maxSendBytes: 4 * 1024 * 1024,
  /** Longest `Idempotency-Key` header on `POST /api/jobs`. */
  maxIdempotencyKeyChars: 255,
  /** Most known answers (`checks`) one job may carry. */
  maxChecks: 10_000,
  /** Most assets one job may name (SPEC.md section A). */
  maxAssetsPerJob: 64,
} as const;

/** Defaults for a job's per-task settings (see SPEC.md, rules T1-T4). */
export const JobDefaults = {
  timeoutMs: 60_000,
  maxAttempts: 3,
  /** A task lost with its volunteer this many times fails (it probably crashes tabs). */
  maxLosses: 8,
  priority: 0,
} as const;

/** Defaults of result validation (SPEC.md section V); the research behind each is in docs/VALIDATION.md. */
export const ValidationDefaults = {
  /** strict: agreeing results needed (V8). */
  quorum: 2,
  /** Results after which a task with no agreement is inconclusive (V12). */
  maxReplicas: 6,
} as const;
