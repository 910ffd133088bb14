/**
 * The volunteer protocol: one discriminated union per direction, each frame a JSON text message.
 * Both the master (validation) and the page/headless worker (decoding) use these schemas.
 * See SPEC.md section P for the rules.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Limits } from './limits.ts';
import { AssetRefSchema } from './schemas/assets.ts';

/** Bumped on any incompatible change; a volunteer speaking another version is closed with VersionMismatch. */
export const PROTOCOL_VERSION = 2;

/** WebSocket path volunteers connect to. */
export const VOLUNTEER_PATH = '/ws/volunteer';

/** Query parameter carrying the join key, on the page URL and on the volunteer socket URL (`?key=`). */
export const JOIN_KEY_PARAM = 'key';

/** Close codes the master uses (4000-4999 is the application range). */
export const CloseCode = {
  ProtocolError: 4000,
  VersionMismatch: 4001,
  Forbidden: 4003,
  HeartbeatLapsed: 4008,
  HelloTimeout: 4009,
  ShuttingDown: 4010,
  /** The master failed handling this connection's frame; only this connection is closed. */
  Internal: 4011,
  TooManyConnections: 4029,
  /** This address opened connections too fast: back off and retry. */
  RateLimited: 4030,
  /** This network made too many new identities lately (rule V2): back off and retry. */
  TooManyIdentities: 4031,
  /** This identity was caught returning wrong results (rule V5): refused for good. */
  Banned: 4032,
  /** The hello's identity proof does not verify (rule V1). */
  BadIdentity: 4033,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Reason strings sent with the close codes above (at most 123 bytes each, a WebSocket limit). */
export const CloseReason = {
  ProtocolError: 'protocol error',
  VersionMismatch: 'protocol version not supported',
  Forbidden: 'join key missing or wrong',
  HeartbeatLapsed: 'heartbeat lapsed',
  HelloTimeout: 'no hello in time',
  ShuttingDown: 'master shutting down',
  Internal: 'internal error',
  TooManyConnections: 'too many connections',
  RateLimited: 'connecting too often; retry later',
  TooManyIdentities: 'too many new identities from this network; retry later',
  Banned: 'identity banned for wrong results',
  BadIdentity: 'identity proof does not verify',
} as const satisfies Record<keyof typeof CloseCode, string>;

const AttemptId = Type.String({ minLength: 1, maxLength: 64 });
const JobId = Type.String({ minLength: 1, maxLength: 64 });
const Count = (max: number) => Type.Integer({ minimum: 0, maximum: max });

// ---------------------------------------------------------------- volunteer -> master

/**
 * An identity proved at hello (rule V1): an ECDSA P-256 public key (SPKI, base64url) and its signature
 * (IEEE P1363, base64url) of `helloProofText(nonce)` for the nonce of this connection's `challenge`.
 * `vouch` is the operator's word for its own machine: an HMAC of `vouchProofText` under the vouch key.
 */
export const IdentityProofSchema = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 256 }),
  sig: Type.String({ minLength: 1, maxLength: 256 }),
  vouch: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});
export type IdentityProof = Static<typeof IdentityProofSchema>;

export const HelloSchema = Type.Object({
  type: Type.Literal('hello'),
  v: Type.Integer(),
  /** Absent: an anonymous volunteer, given only work that needs no validation (rule V1). */
  identity: Type.Optional(IdentityProofSchema),
  threads: Type.Integer({ minimum: 1, maximum: Limits.maxThreads }),
  agent: Type.Optional(Type.Union([Type.Literal('browser'), Type.Literal('node')])),
  ua: Type.Optional(Type.String({ maxLength: 512 })),
  hidden: Type.Optional(Type.Boolean()),
  /**
   * Ask for `ack` frames (rule D2): absent or false, the master sends none. A volunteer that forgets its
   * outcomes once sent has no use for them, and on a swarm of slow tasks they are a frame per result.
   */
  acks: Type.Optional(Type.Boolean()),
});

/** Grants the master `n` more credits: it may lease that many more tasks (additive, race-free). */
export const WantSchema = Type.Object({
  type: Type.Literal('want'),
  n: Count(Limits.maxCreditsPerConnection),
});

/** Takes back all credits not yet used (Stop, or fewer threads). Leases already sent stay. */
export const PauseSchema = Type.Object({ type: Type.Literal('pause') });

export const TaskOkSchema = Type.Object({
  a: AttemptId,
  ok: Type.Literal(true),
  output: Type.Unknown(),
  /** CPU milliseconds the attempt took, as measured by the volunteer. */
  ms: Type.Optional(Type.Number({ minimum: 0 })),
});
export const TaskErrSchema = Type.Object({
  a: AttemptId,
  ok: Type.Literal(false),
  error: Type.String({ maxLength: Limits.maxErrorChars * 2 }),
  ms: Type.Optional(Type.Number({ minimum: 0 })),
});

/** Outcomes of attempts, batched; `want` grants credits in the same frame. */
export const ResultsSchema = Type.Object({
  type: Type.Literal('results'),
  items: Type.Array(Type.Union([TaskOkSchema, TaskErrSchema]), { minItems: 1, maxItems: Limits.maxCreditsPerConnection }),
  want: Type.Optional(Count(Limits.maxCreditsPerConnection)),
});

export const ProgressSchema = Type.Object({
  type: Type.Literal('progress'),
  a: AttemptId,
  p: Type.Number({ minimum: 0, maximum: 1 }),
});

/** Hands back leases the volunteer will not run (not a failure, not a loss). */
export const ReleaseSchema = Type.Object({
  type: Type.Literal('release'),
  attempts: Type.Array(AttemptId, { maxItems: Limits.maxCreditsPerConnection }),
});

/** Application heartbeat: proves the page's event loop runs (a frozen tab still answers WS pings). */
export const HeartbeatSchema = Type.Object({ type: Type.Literal('hb'), t: Type.Optional(Type.Number()) });

export const VisibilitySchema = Type.Object({ type: Type.Literal('visibility'), hidden: Type.Boolean() });

export const VolunteerMessageSchema = Type.Union([
  HelloSchema,
  WantSchema,
  PauseSchema,
  ResultsSchema,
  ProgressSchema,
  ReleaseSchema,
  HeartbeatSchema,
  VisibilitySchema,
]);
export type VolunteerMessage = Static<typeof VolunteerMessageSchema>;
export type TaskOutcome = Static<typeof TaskOkSchema> | Static<typeof TaskErrSchema>;

// ---------------------------------------------------------------- master -> volunteer

/** Sent as soon as the socket opens: the nonce a hello's identity proof signs (rule V1). */
export const ChallengeSchema = Type.Object({ type: Type.Literal('challenge'), nonce: Type.String({ minLength: 16, maxLength: 128 }) });

export const WelcomeSchema = Type.Object({
  type: Type.Literal('welcome'),
  v: Type.Integer(),
  volunteerId: Type.String(),
  /** The proved identity's id, when the hello carried one. */
  identity: Type.Optional(Type.String()),
  heartbeatMs: Type.Integer(),
  /** [P5] The beat while the volunteer holds no lease (absent: `heartbeatMs`). */
  idleHeartbeatMs: Type.Optional(Type.Integer()),
  maxCredits: Type.Integer(),
  title: Type.String(),
});

/**
 * A job's code, sent once per connection before its first task (rule C1). Its assets are named, never sent
 * here: the volunteer fetches each over HTTP by its hash, from its own cache first (rule A4).
 */
export const JobCodeSchema = Type.Object({
  type: Type.Literal('job'),
  id: JobId,
  name: Type.String(),
  code: Type.String(),
  timeoutMs: Type.Integer(),
  /** Absent when the job names none (and from a master older than assets). */
  assets: Type.Optional(Type.Array(AssetRefSchema, { maxItems: Limits.maxAssetsPerJob })),
});

export const LeaseSchema = Type.Object({
  a: AttemptId,
  job: JobId,
  i: Type.Integer({ minimum: 0 }),
  input: Type.Unknown(),
});
export type Lease = Static<typeof LeaseSchema>;

export const TasksSchema = Type.Object({ type: Type.Literal('tasks'), items: Type.Array(LeaseSchema) });

/** Stop these attempts now (job cancelled, or the master already gave up on them). */
export const AbortSchema = Type.Object({
  type: Type.Literal('abort'),
  attempts: Type.Array(AttemptId),
  reason: Type.String(),
});

/** These results are durable: a crash of the master can no longer lose them. */
export const AckSchema = Type.Object({ type: Type.Literal('ack'), attempts: Type.Array(AttemptId) });

export const HeartbeatReplySchema = Type.Object({ type: Type.Literal('hb'), t: Type.Number() });

/** Swarm totals for the volunteer page, sent every few seconds. */
export const SwarmSchema = Type.Object({
  type: Type.Literal('swarm'),
  volunteers: Type.Integer(),
  threads: Type.Integer(),
  tasksDone: Type.Integer(),
  tasksPerSecond: Type.Number(),
  jobs: Type.Array(Type.Object({ id: JobId, name: Type.String(), done: Type.Integer(), total: Type.Integer() })),
});

export const MasterMessageSchema = Type.Union([
  ChallengeSchema,
  WelcomeSchema,
  JobCodeSchema,
  TasksSchema,
  AbortSchema,
  AckSchema,
  HeartbeatReplySchema,
  SwarmSchema,
]);
export type MasterMessage = Static<typeof MasterMessageSchema>;

/** Narrow a union member by its `type`. */
export type MessageOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;

export type { TSchema };
