/**
 * [K9] A commit's receipt as kept beside the master's last batch: a retry of a batch whose commit did land
 * (the connection failed before COMMIT was confirmed, a store thread died after it) gets the receipt the
 * first try earned instead of being applied twice (its job counters move by increments, K5) or told that
 * its own final writes were refused. Flags are kept as strings of 0 and 1, a byte a write.
 */
import type { CommitReceipt } from './store.ts';

interface Kept extends Omit<CommitReceipt, 'applied' | 'votes'> {
  applied: string;
  votes: string;
}

const flags = (xs: boolean[]) => xs.map((x) => (x ? '1' : '0')).join('');
const unflags = (s: string) => Array.from(s, (c) => c === '1');

export function encodeReceipt(r: CommitReceipt): string {
  const kept: Kept = { ...r, applied: flags(r.applied), votes: flags(r.votes) };
  return JSON.stringify(kept);
}

export function decodeReceipt(s: string): CommitReceipt {
  const kept = JSON.parse(s) as Kept;
  return { ...kept, applied: unflags(kept.applied), votes: unflags(kept.votes) };
}

/** The key the receipt is kept under: the writing master, or '' for an unfenced writer. */
export const receiptKey = (owner: { master: string } | undefined): string => owner?.master ?? '';
