/** REST bodies and replies: defined once here, used by the routes (validation + serialization) and clients. */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.ts';
import { AssetRefSchema, JobAssetsSchema } from './assets.ts';

export const JobStatus = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  cancelled: 'cancelled',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** How a job's results are validated (SPEC.md section V). `none`: one result from anyone is final. */
export const ValidationMode = { none: 'none', adaptive: 'adaptive', strict: 'strict' } as const;
export type ValidationMode = (typeof ValidationMode)[keyof typeof ValidationMode];
const ValidationModeSchema = Type.Union(Object.values(ValidationMode).map((m) => Type.Literal(m)));

/**
 * How two outputs are compared: `exact` (canonical JSON: key order does not matter) or `numeric` (every
 * number within `abs` or within `rel` of the other, everything else equal), for floating point that
 * differs across engines.
 */
export const CompareSchema = Type.Union([
  Type.Literal('exact'),
  Type.Object(
    { numeric: Type.Object({ abs: Type.Optional(Type.Number({ minimum: 0 })), rel: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false }) },
    { additionalProperties: false },
  ),
]);
export type Compare = Static<typeof CompareSchema>;

export const ValidationPolicySchema = Type.Object(
  {
    mode: ValidationModeSchema,
    /** strict: agreeing results from this many distinct identities, at least one trusted (default 2). */
    quorum: Type.Optional(Type.Integer({ minimum: 2, maximum: 10 })),
    /** A task with this many results and no agreement fails as inconclusive (default 6). */
    maxReplicas: Type.Optional(Type.Integer({ minimum: 2, maximum: 20 })),
    compare: Type.Optional(CompareSchema),
  },
  { additionalProperties: false },
);
export type ValidationPolicyBody = Static<typeof ValidationPolicySchema>;

/**
 * A known answer from the operator: run as an ordinary task of the job (the volunteer cannot tell), it
 * checks the volunteer. `index` is what `ctx.index` shows (a random index of the job when absent).
 */
export const KnownAnswerSchema = Type.Object(
  { input: Type.Unknown(), output: Type.Unknown(), index: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
export type KnownAnswer = Static<typeof KnownAnswerSchema>;

/** The language of a job's code (SPEC.md section Y): an ES module, or a Python module defining main(input, ctx). */
export const JobLanguage = { javascript: 'javascript', python: 'python' } as const;
export type JobLanguage = (typeof JobLanguage)[keyof typeof JobLanguage];
export const JobLanguageSchema = Type.Union(Object.values(JobLanguage).map((l) => Type.Literal(l)), {
  description: 'javascript (default): an ES module whose default export is the task function; python: a module defining main(input, ctx)',
});

export const CreateJobBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: Limits.maxNameChars })),
    code: Type.String({ minLength: 1, maxLength: Limits.maxCodeBytes }),
    /** Default javascript. A Python job runs on Pyodide, which the master adds to its assets (section Y). */
    language: Type.Optional(JobLanguageSchema),
    inputs: Type.Array(Type.Unknown(), { minItems: 1, maxItems: Limits.maxInputs }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 24 * 3600 * 1000 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
    /** Default: the master's BARNRAISE_VALIDATION (`none` unless set). */
    validation: Type.Optional(ValidationPolicySchema),
    checks: Type.Optional(Type.Array(KnownAnswerSchema, { maxItems: Limits.maxChecks })),
    /** Files the code reads through `ctx.assets`, each stored first with `PUT /api/assets/<sha256>` (section A). */
    assets: Type.Optional(JobAssetsSchema),
  },
  { additionalProperties: false },
);
export type CreateJobBody = Static<typeof CreateJobBodySchema>;

/** Headers of `POST /api/jobs`: an optional Idempotency-Key (the same key gives back the same job). */
export const CreateJobHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: Limits.maxIdempotencyKeyChars, pattern: '^[\\x21-\\x7e]+$' })),
});
export type CreateJobHeaders = Static<typeof CreateJobHeadersSchema>;

const Timestamp = Type.String({ description: 'ISO 8601' });

export const JobSummarySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union(Object.values(JobStatus).map((s) => Type.Literal(s))),
  priority: Type.Integer(),
  /** The language of the job's code (section Y). */
  language: JobLanguageSchema,
  total: Type.Integer(),
  counts: Type.Object({
    queued: Type.Integer(),
    leased: Type.Integer(),
    done: Type.Integer(),
    failed: Type.Integer(),
  }),
  requeues: Type.Integer(),
  timeoutMs: Type.Integer(),
  maxAttempts: Type.Integer(),
  /** Present when the job's results are validated (mode adaptive or strict). */
  validation: Type.Optional(
    Type.Object({
      mode: ValidationModeSchema,
      quorum: Type.Integer(),
      maxReplicas: Type.Integer(),
      /** Tasks final with a validated result (done) or failure (failed), counted apart from inconclusive. */
      validated: Type.Integer(),
      /** Tasks with results that are not final yet (waiting for agreement or for their volunteer's checks). */
      awaiting: Type.Integer(),
      /** Tasks failed because their results never agreed (rule V12). */
      inconclusive: Type.Integer(),
      /** Results received so far, counting replicas and checks: divided by the tasks, the cost of validation. */
      replicas: Type.Integer(),
    }),
  ),
  /** The files the job's code reads through `ctx.assets`, when it names any (section A). */
  assets: Type.Optional(Type.Array(AssetRefSchema)),
  createdAt: Timestamp,
  startedAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
});
export type JobSummary = Static<typeof JobSummarySchema>;

export const JobListQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  /** Opaque cursor from a previous page's `next`. */
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});
export type JobListQuery = Static<typeof JobListQuerySchema>;

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSummarySchema),
  /** Pass as `cursor` to get the next (older) page; absent on the last page. */
  next: Type.Optional(Type.String()),
});
export type JobList = Static<typeof JobListSchema>;

export const JobParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ResultsQuerySchema = Type.Object({
  follow: Type.Optional(Type.Boolean({ default: false })),
});

/** One line of the results stream (application/x-ndjson). */
export const ResultLineSchema = Type.Union([
  Type.Object({ index: Type.Integer(), status: Type.Literal('done'), output: Type.Unknown() }),
  Type.Object({ index: Type.Integer(), status: Type.Literal('failed'), error: Type.String() }),
]);
export type ResultLine = Static<typeof ResultLineSchema>;

export const StatsSchema = Type.Object({
  volunteers: Type.Integer(),
  threads: Type.Integer(),
  tasksPerSecond: Type.Number(),
  tasksDone: Type.Integer(),
  queued: Type.Integer(),
  leased: Type.Integer(),
  activeJobs: Type.Integer(),
});
export type Stats = Static<typeof StatsSchema>;

/** What the operator says about the swarm (BARNRAISE_TITLE, BARNRAISE_DESCRIPTION). */
export const SiteSchema = Type.Object({
  title: Type.String(),
  description: Type.String(),
  /** True when volunteers need the join key in the page URL (`?key=`) to join (a private swarm). */
  joinKeyRequired: Type.Optional(Type.Boolean()),
});
export type Site = Static<typeof SiteSchema>;

export const HealthSchema = Type.Object({ ok: Type.Boolean(), uptimeS: Type.Number() });

export const ErrorBodySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;
