/**
 * The identity desk: who a volunteer is at hello (rule V1), whether its network may make a new identity
 * (V2), the operator's vouch (V3), and refusal of a banned identity (V5).
 */
import { CloseCode, CloseReason, type IdentityProof } from '@barnraise/shared';
import { AddressAdmission } from '../security/buckets.ts';
import type { TrustBook } from './book.ts';
import { checkProof, vouchHolds } from './identity.ts';
import { newIdentity, TrustState, type IdentityRecord } from './trust.ts';

export interface DeskOptions {
  /** New identities one network may create per hour, sustained, and in a burst (rule V2). */
  newPerHour: number;
  newBurst: number;
  /** The operator's vouch key (rule V3); unset: vouches are ignored. */
  vouchKey?: string;
  now: () => number;
}

export type Refusal = readonly [code: number, reason: string];

export class IdentityDesk {
  private readonly admission: AddressAdmission;

  constructor(
    private readonly book: TrustBook,
    private readonly lookup: (id: string) => Promise<IdentityRecord | undefined>,
    private readonly opts: DeskOptions,
  ) {
    this.admission = new AddressAdmission({ perSecond: opts.newPerHour / 3600, burst: opts.newBurst, maxOpen: Number.POSITIVE_INFINITY, now: opts.now });
  }

  /** The identity `proof` proves for this connection's `nonce`, held in the trust book; or why it is refused. */
  async admit(proof: IdentityProof, nonce: string, network: string): Promise<{ record: IdentityRecord } | { refuse: Refusal }> {
    const checked = checkProof(proof, nonce);
    if (!checked.ok) return { refuse: [CloseCode.BadIdentity, CloseReason.BadIdentity] };
    const { id } = checked;
    let record = this.book.get(id);
    if (!record) {
      const stored = await this.lookup(id);
      if (stored) record = this.book.hold(stored);
    }
    const vouched = this.opts.vouchKey !== undefined && proof.vouch !== undefined && vouchHolds(this.opts.vouchKey, nonce, proof.key, proof.vouch);
    if (!record) {
      // [V2] The operator's own machines are not counted against their network.
      if (!vouched) {
        const admitted = this.admission.admit(network);
        if (admitted !== 'ok') return { refuse: [CloseCode.TooManyIdentities, CloseReason.TooManyIdentities] };
        this.admission.release(network);
      }
      record = this.book.hold(newIdentity(id, proof.key, network, this.opts.now()), true);
    }
    if (vouched && !record.vouched) record = this.book.vouch(id) ?? record;
    if (record.state === TrustState.banned) return { refuse: [CloseCode.Banned, CloseReason.Banned] };
    return { record };
  }

  /** Forget networks whose bucket has refilled. */
  sweep(): void {
    this.admission.sweep();
  }
}
