/**
 * The validation benchmark's swarm: 100+ scripted volunteers in ONE process, each the shared VolunteerCore
 * on its own WebSocket from its own loopback /24, with its own identity and an inline compute pool. Kept
 * for the whole benchmark; the parent tells it per run:
 *   {type:'join', url, token, roles, sybil, vouchKey?, vouched?} → {type:'joined', online}
 *   {type:'leave'} → {type:'left', stats}
 * A Sybil (sybil: true) banned by the master (close code 4032) comes straight back with a new identity
 * from the same address, as often as the master's new-identity limit lets it (the core retries 4031).
 */
import { CloseCode } from '@barnraise/shared';
import { ScriptedVolunteer } from '../lib/scripted-volunteer.ts';
import { loopbackAddress, Role, type Role as RoleT } from '../lib/validation-scenarios.ts';
import { exitWithParent, onParent, toParent } from './ipc.ts';

/** Sybil comebacks allowed in one run, whatever the master allows: every loop is bounded. */
const MAX_COMEBACKS = 5000;

interface JoinMessage {
  type: 'join';
  url: string;
  token: string;
  roles: RoleT[];
  sybil: boolean;
  vouchKey?: string;
  /** Index of the volunteer that carries the operator's vouch. */
  vouched?: number;
  timeoutMs?: number;
}

export interface SwarmStats {
  /** Volunteers refused as banned (4032), by role; a Sybil's every banned identity counts. */
  bannedByRole: Record<string, number>;
  /** Other refusals for good, by close code. */
  otherRefusals: Record<string, number>;
  comebacks: number;
  /** Results returned, by role. */
  completedByRole: Record<string, number>;
  /** Sleepers that woke (reached the trust they waited for). */
  sleepersAwake: number;
  identities: number;
  /** Leases that arrived with a null input (none should: every input is a number). */
  nullInputs: number;
  /** Leases droppers dropped with their socket. */
  dropped: number;
}

let live: ScriptedVolunteer[] = [];
let all: ScriptedVolunteer[] = [];
let stats: SwarmStats = fresh();

function fresh(): SwarmStats {
  return { bannedByRole: {}, otherRefusals: {}, comebacks: 0, completedByRole: {}, sleepersAwake: 0, identities: 0, nullInputs: 0, dropped: 0 };
}

function spawn(m: JoinMessage, role: RoleT, k: number): ScriptedVolunteer {
  const v = new ScriptedVolunteer({
    url: m.url,
    token: m.token,
    role,
    localAddress: loopbackAddress(k),
    ...(m.vouchKey && m.vouched === k ? { vouchKey: m.vouchKey } : {}),
    onRefused: (self, code) => {
      if (code !== CloseCode.Banned) {
        stats.otherRefusals[code] = (stats.otherRefusals[code] ?? 0) + 1;
        return;
      }
      stats.bannedByRole[role] = (stats.bannedByRole[role] ?? 0) + 1;
      live = live.filter((x) => x !== self);
      if (m.sybil && role !== Role.honest && stats.comebacks < MAX_COMEBACKS) {
        stats.comebacks++;
        const again = spawn(m, role, k);
        live.push(again);
        again.start();
      }
    },
  });
  all.push(v);
  stats.identities++;
  return v;
}

async function join(m: JoinMessage): Promise<void> {
  stats = fresh();
  all = [];
  live = m.roles.map((role, k) => spawn(m, role, k));
  for (const v of live) v.start();
  const deadline = Date.now() + (m.timeoutMs ?? 60_000);
  let online = 0;
  while (Date.now() < deadline) {
    online = live.filter((v) => v.online).length;
    if (online === m.roles.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (online < m.roles.length) throw new Error(`only ${online} of ${m.roles.length} volunteers joined`);
  toParent({ type: 'joined', online });
}

function leave(): void {
  for (const v of live) v.stop();
  for (const v of all) {
    stats.completedByRole[v.opts.role] = (stats.completedByRole[v.opts.role] ?? 0) + v.completed;
    if (v.awake) stats.sleepersAwake++;
    stats.nullInputs += v.nullInputs;
    stats.dropped += v.dropped;
  }
  live = [];
  all = [];
  toParent({ type: 'left', stats });
}

exitWithParent(() => live.forEach((v) => v.stop()));
onParent(async (msg) => {
  if (msg.type === 'join') await join(msg as unknown as JoinMessage);
  else if (msg.type === 'leave') leave();
});
toParent({ type: 'started' });
