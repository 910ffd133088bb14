/**
 * The operator dashboard's live stream: a WebSocket at DASHBOARD_PATH. The first frame authenticates
 * (a browser WebSocket cannot send an Authorization header); then the master sends one snapshot and,
 * a few times a second, compact deltas: only what changed, and only the volunteers page being viewed.
 */
import { Type, type Static } from '@sinclair/typebox';
import { JobSummarySchema, ResultLineSchema, StatsSchema } from './schemas/rest.ts';

export const DASHBOARD_PATH = '/ws/dashboard';

/** Close codes of the dashboard stream. */
export const FeedCloseCode = { BadFrame: 4400, Unauthorized: 4401 } as const;
export const FeedCloseReason = { BadFrame: 'bad frame', Unauthorized: 'operator token missing or wrong' } as const;

/** How many seconds of throughput history the dashboard charts. */
export const HISTORY_SECONDS = 600;

export const FeedAuthSchema = Type.Object({ type: Type.Literal('auth'), token: Type.String({ maxLength: 512 }) });
/** Which page of the volunteers table to stream. */
export const FeedVolunteersSchema = Type.Object({
  type: Type.Literal('volunteers'),
  offset: Type.Integer({ minimum: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 200 }),
});
export const FeedClientMessageSchema = Type.Union([FeedAuthSchema, FeedVolunteersSchema]);
export type FeedClientMessage = Static<typeof FeedClientMessageSchema>;

export const JobRowSchema = Type.Composite([
  JobSummarySchema,
  Type.Object({ tasksPerSecond: Type.Number(), etaSeconds: Type.Union([Type.Number(), Type.Null()]) }),
]);
export type JobRow = Static<typeof JobRowSchema>;

/**
 * Trust as the operator sees it (SPEC.md V3, V7): anonymous (no identity: unvalidated work only), untrusted,
 * trusted (lately: its vote weighs 1), seasoned (weighs 2), vouched (the operator's own machine), banned.
 */
export const TrustLabel = { anonymous: 'anonymous', untrusted: 'untrusted', trusted: 'trusted', seasoned: 'seasoned', vouched: 'vouched', banned: 'banned' } as const;
export type TrustLabel = (typeof TrustLabel)[keyof typeof TrustLabel];
export const TrustLabelSchema = Type.Union(Object.values(TrustLabel).map((t) => Type.Literal(t)));

export const VolunteerRowSchema = Type.Object({
  id: Type.String(),
  agent: Type.String(),
  browser: Type.String(),
  os: Type.String(),
  threads: Type.Integer(),
  tasksDone: Type.Integer(),
  tasksPerSecond: Type.Number(),
  leases: Type.Integer(),
  heartbeatAgeMs: Type.Number(),
  connectedAt: Type.String(),
  hidden: Type.Boolean(),
  /** The identity it proved at hello (section V); absent for an anonymous volunteer. */
  identity: Type.Optional(Type.String()),
  trust: TrustLabelSchema,
  /** Blind checks its identity has passed. */
  checksPassed: Type.Integer(),
});
export type VolunteerRow = Static<typeof VolunteerRowSchema>;

export const VolunteerPageSchema = Type.Object({ total: Type.Integer(), offset: Type.Integer(), rows: Type.Array(VolunteerRowSchema) });
export type VolunteerPage = Static<typeof VolunteerPageSchema>;

export const EventKind = {
  volunteerJoined: 'volunteer-joined',
  volunteerLeft: 'volunteer-left',
  leaseExpired: 'lease-expired',
  taskFailed: 'task-failed',
  jobFinished: 'job-finished',
  jobCreated: 'job-created',
  identityBanned: 'identity-banned',
  identityTrusted: 'identity-trusted',
  taskInconclusive: 'task-inconclusive',
} as const;

export const EventRowSchema = Type.Object({
  seq: Type.Integer(),
  t: Type.Number(),
  kind: Type.String(),
  text: Type.String(),
  job: Type.Optional(Type.String()),
  volunteer: Type.Optional(Type.String()),
  identity: Type.Optional(Type.String()),
});
export type EventRow = Static<typeof EventRowSchema>;

export const FeedSnapshotSchema = Type.Object({
  type: Type.Literal('snapshot'),
  t: Type.Number(),
  swarm: StatsSchema,
  /** Tasks finished per second, oldest first, the last one being the second before `t`. */
  history: Type.Array(Type.Number()),
  jobs: Type.Array(JobRowSchema),
  events: Type.Array(EventRowSchema),
  volunteers: VolunteerPageSchema,
});

export const FeedDeltaSchema = Type.Object({
  type: Type.Literal('delta'),
  t: Type.Number(),
  swarm: StatsSchema,
  /** New per-second throughput points since the last frame. */
  points: Type.Array(Type.Number()),
  /** Jobs whose row changed. */
  jobs: Type.Array(JobRowSchema),
  events: Type.Array(EventRowSchema),
  volunteers: VolunteerPageSchema,
});

export const FeedServerMessageSchema = Type.Union([FeedSnapshotSchema, FeedDeltaSchema]);
export type FeedServerMessage = Static<typeof FeedServerMessageSchema>;

// ---------------------------------------------------------------- REST replies behind the dashboard

export const JobDetailSchema = Type.Object({
  summary: JobSummarySchema,
  code: Type.String(),
  sample: Type.Array(ResultLineSchema),
  errors: Type.Array(ResultLineSchema),
});
export type JobDetail = Static<typeof JobDetailSchema>;

export const AttemptRecordSchema = Type.Object({
  attempt: Type.String(),
  volunteer: Type.String(),
  leasedAt: Type.Number(),
  endedAt: Type.Number(),
  end: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
});

/** One replica of a validated task, or a known-answer check leased as its index (section V). */
export const ReplicaRowSchema = Type.Object({
  attempt: Type.String(),
  identity: Type.String(),
  kind: Type.Union([Type.Literal('vote'), Type.Literal('check')]),
  ok: Type.Boolean(),
  /** Hash of the output's canonical JSON (16 hex digits), or "failed". */
  hash: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
  at: Type.Number(),
  /** pending, credited (a bootstrap credit), accepted, rejected, void (its identity was banned); checks: passed, failed. */
  verdict: Type.String(),
});

export const TaskDetailSchema = Type.Object({
  index: Type.Integer(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('failed')]),
  input: Type.Unknown(),
  output: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
  failures: Type.Integer(),
  losses: Type.Integer(),
  attempts: Type.Array(AttemptRecordSchema),
  /** Validated jobs: every replica and check, with its identity, output hash and verdict. */
  replicas: Type.Optional(Type.Array(ReplicaRowSchema)),
});
export type TaskDetailReply = Static<typeof TaskDetailSchema>;

export const TaskParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), index: Type.Integer({ minimum: 0 }) });
export const PageQuerySchema = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
export const EventListSchema = Type.Object({ events: Type.Array(EventRowSchema) });
/** The volunteers table: of the whole cluster, or (`local`) only of the master asked (how masters read each other's). */
export const VolunteersQuerySchema = Type.Composite([PageQuerySchema, Type.Object({ local: Type.Optional(Type.Boolean({ default: false })) })]);

/** One volunteer identity (section V), for the operator. */
export const IdentityRowSchema = Type.Object({
  id: Type.String(),
  trust: TrustLabelSchema,
  vouched: Type.Boolean(),
  /** Network it was created from (IPv4 /24, IPv6 /48). */
  network: Type.String(),
  streak: Type.Integer(),
  checksPassed: Type.Integer(),
  checksFailed: Type.Integer(),
  createdAt: Type.String(),
  bannedAt: Type.Union([Type.String(), Type.Null()]),
  banReason: Type.Union([Type.String(), Type.Null()]),
  /** Open connections with this identity now. */
  connections: Type.Integer(),
});
export type IdentityRow = Static<typeof IdentityRowSchema>;
export const IdentityPageSchema = Type.Object({ total: Type.Integer(), offset: Type.Integer(), rows: Type.Array(IdentityRowSchema) });
export type IdentityPage = Static<typeof IdentityPageSchema>;
export const IdentityParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const BanBodySchema = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
