/**
 * [N2] Which discovered master `barnraise worker` joins: the only one, or the one `--pick` names. Several
 * and no pick is the operator's choice to make, never ours: joining the wrong swarm runs a stranger's code.
 */
import { PROTOCOL_VERSION } from '@barnraise/shared';
import type { DiscoveredMaster } from './browse.ts';

export type Choice = { ok: true; master: DiscoveredMaster } | { ok: false; exitCode: number; message: string };

export interface ChooseOptions {
  /** `--pick`: a master's name as listed (case does not matter), or its URL. */
  pick?: string | undefined;
  /** Whether the worker was given a join key (`--join-key`). */
  hasJoinKey: boolean;
  /** How long the browse listened, for the message when nothing answered. */
  waitedMs: number;
}

/** One line per master: name, URL, join key. */
export function listMasters(found: readonly DiscoveredMaster[]): string {
  const width = Math.max(...found.map((m) => m.name.length));
  return found
    .map((m) => {
      const notes = [m.joinKeyRequired ? 'join key needed' : 'open', ...(m.protocol === PROTOCOL_VERSION ? [] : [`protocol ${m.protocol}, this worker speaks ${PROTOCOL_VERSION}`])];
      return `  ${m.name.padEnd(width)}  ${m.url}  (${notes.join('; ')})`;
    })
    .join('\n');
}

/** The master to join, or why none is chosen and the exit code to end with (1: none found, 2: choose yourself). */
export function chooseMaster(found: readonly DiscoveredMaster[], opts: ChooseOptions): Choice {
  if (found.length === 0) {
    return {
      ok: false,
      exitCode: 1,
      message:
        `no master answered on the local network within ${opts.waitedMs / 1000} s. Is one running with advertising on ` +
        '(a master bound to 127.0.0.1 does not advertise; BARNRAISE_MDNS=1 makes it), and does the firewall let ' +
        'multicast DNS through (UDP port 5353)? Or give its address: --url http://host:8080',
    };
  }
  const pick = opts.pick?.toLowerCase();
  const candidates = pick === undefined ? found : found.filter((m) => m.name.toLowerCase() === pick || m.url.toLowerCase() === pick);
  if (candidates.length === 0) {
    return { ok: false, exitCode: 2, message: `no master found is named "${opts.pick}"; these answered:\n${listMasters(found)}` };
  }
  if (candidates.length > 1) {
    return { ok: false, exitCode: 2, message: `${candidates.length} masters answered on the local network; choose one with --pick NAME or --url URL:\n${listMasters(candidates)}` };
  }
  const master = candidates[0]!;
  if (master.protocol !== PROTOCOL_VERSION) {
    return { ok: false, exitCode: 2, message: `${master.name} (${master.url}) speaks volunteer protocol ${master.protocol}; this worker speaks ${PROTOCOL_VERSION}: update the one that is older` };
  }
  if (master.joinKeyRequired && !opts.hasJoinKey) {
    return { ok: false, exitCode: 2, message: `${master.name} (${master.url}) is a private swarm: it needs its join key (--join-key KEY); ask its operator` };
  }
  return { ok: true, master };
}
