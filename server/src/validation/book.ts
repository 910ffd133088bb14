/**
 * The trust book: every identity the master is using (connected, or voting on an unfinished task), with
 * its trust, applied through the pure transitions of trust.ts and journaled to the store in the group
 * commits (rule V13). It also knows which networks are online, for replica placement (rule V6).
 */
import type { Clock } from '../scheduler/clock.ts';
import { applyTrustEvent, TrustState, trustVotes, type IdentityRecord, type TrustEvent, type TrustPolicy } from './trust.ts';

/** Where changes of trust go to become durable: as events, applied again to the stored record (K5). */
export interface TrustJournal {
  identityEvent(e: TrustEvent): void;
  /** Events of `id` journaled here and not yet in any commit sent to the store (K5), oldest first. */
  pendingIdentityEvents?(id: string): TrustEvent[];
}

export interface TrustEvents {
  /** An identity was banned: its connections must close and its unsettled votes be rolled back (V5). */
  banned(r: IdentityRecord): void;
  /** An identity became trusted. */
  trusted(r: IdentityRecord): void;
  /** An identity's vote weighs more than it did (trusted, seasoned, vouched): its undecided tasks may settle now. */
  reweighed(r: IdentityRecord): void;
}

export class TrustBook {
  private readonly records = new Map<string, IdentityRecord>();
  /** Open connections per identity, per network. */
  private readonly connections = new Map<string, Map<string, number>>();
  /** Online connections per network: all identified volunteers, and trusted ones. */
  private readonly nets = new Map<string, number>();
  private readonly trustedNets = new Map<string, number>();
  /** Connected identities by trust weight (0 untrusted … 3 vouched). */
  private readonly onlineByWeight = [0, 0, 0, 0];

  constructor(
    readonly policy: TrustPolicy,
    private readonly journal: TrustJournal,
    private readonly clock: Clock,
    private readonly events: TrustEvents,
  ) {}

  get(id: string): IdentityRecord | undefined {
    return this.records.get(id);
  }

  /** Hold a record loaded from the store or just created (created ones are journaled). */
  hold(r: IdentityRecord, created = false): IdentityRecord {
    const known = this.records.get(r.id);
    if (known) return known;
    this.records.set(r.id, r);
    if (created) this.journal.identityEvent({ id: r.id, event: 'create', record: r });
    return r;
  }

  /**
   * The store's record is the truth (another master may have changed it): take it, and act on a change of
   * trust it brings (a ban from elsewhere closes this master's connections of it too). [K5][V5] Changes made
   * here since the commit it came from are not in it yet: they are applied again on top, so a ban made while
   * an earlier commit was on its way is not undone by that commit's receipt (the banned identity leased work
   * again, and was banned a second time when its own commit landed).
   */
  refresh(stored: IdentityRecord): void {
    const before = this.records.get(stored.id);
    if (!before) return;
    let merged = stored;
    for (const e of this.journal.pendingIdentityEvents?.(stored.id) ?? []) merged = applyTrustEvent(merged, e) ?? merged;
    if (merged === before) return;
    this.changed(before, merged);
  }

  votes(id: string): number {
    return trustVotes(this.records.get(id), this.policy);
  }

  isTrusted(id: string): boolean {
    return this.votes(id) > 0;
  }

  /** Connected identities whose trust weighs at least `weight`. */
  onlineWithWeight(weight: number): number {
    let n = 0;
    for (let w = weight; w < this.onlineByWeight.length; w++) n += this.onlineByWeight[w]!;
    return n;
  }

  /** Online networks, all and trusted, for placement (rule V6). */
  onlineNetworks(trustedOnly: boolean): ReadonlyMap<string, number> {
    return trustedOnly ? this.trustedNets : this.nets;
  }

  connected(id: string, network: string): void {
    let per = this.connections.get(id);
    if (!per) {
      this.connections.set(id, (per = new Map()));
      this.onlineByWeight[this.votes(id)]!++;
    }
    per.set(network, (per.get(network) ?? 0) + 1);
    bump(this.nets, network, 1);
    if (this.isTrusted(id)) bump(this.trustedNets, network, 1);
  }

  disconnected(id: string, network: string): void {
    const per = this.connections.get(id);
    if (!per || !per.has(network)) return;
    const n = per.get(network)! - 1;
    if (n > 0) per.set(network, n);
    else per.delete(network);
    bump(this.nets, network, -1);
    if (this.isTrusted(id)) bump(this.trustedNets, network, -1);
    if (per.size === 0) {
      this.connections.delete(id);
      this.onlineByWeight[this.votes(id)]!--;
    }
  }

  isOnline(id: string): boolean {
    return this.connections.has(id);
  }

  pass(id: string): void {
    this.apply({ id, event: 'pass', at: this.clock.now(), policy: this.policy });
  }

  fail(id: string, reason: string): void {
    this.apply({ id, event: 'fail', at: this.clock.now(), reason });
  }

  contradicted(id: string): void {
    this.apply({ id, event: 'contradicted', at: this.clock.now(), policy: this.policy });
  }

  lostBootstrap(id: string): void {
    this.apply({ id, event: 'lostBootstrap', at: this.clock.now() });
  }

  vouch(id: string): IdentityRecord | undefined {
    return this.apply({ id, event: 'vouch', at: this.clock.now() });
  }

  ban(id: string, reason: string): IdentityRecord | undefined {
    return this.apply({ id, event: 'ban', at: this.clock.now(), reason });
  }

  reinstate(id: string): IdentityRecord | undefined {
    return this.apply({ id, event: 'reinstate', at: this.clock.now() });
  }

  /** Identities connected here now. */
  online(): IterableIterator<string> {
    return this.connections.keys();
  }

  /** Forget records no connection uses (the store keeps them); `inUse` says which unsettled votes still need. */
  sweep(inUse: (id: string) => boolean): void {
    for (const id of this.records.keys()) if (!this.connections.has(id) && !inUse(id)) this.records.delete(id);
  }

  /** Apply a change in memory now and journal it, so the store applies the same to its record (K5). */
  private apply(e: TrustEvent): IdentityRecord | undefined {
    const before = this.records.get(e.id);
    if (!before) return undefined;
    const after = applyTrustEvent(before, e)!;
    if (after === before) return before;
    this.journal.identityEvent(e);
    this.changed(before, after);
    return after;
  }

  private changed(before: IdentityRecord, after: IdentityRecord): void {
    const id = after.id;
    const weightBefore = trustVotes(before, this.policy);
    const weightAfter = trustVotes(after, this.policy);
    const wasTrusted = weightBefore > 0;
    const isTrusted = weightAfter > 0;
    this.records.set(id, after);
    if (this.connections.has(id) && weightBefore !== weightAfter) {
      this.onlineByWeight[weightBefore]!--;
      this.onlineByWeight[weightAfter]!++;
    }
    if (wasTrusted !== isTrusted) this.moveTrusted(id, isTrusted);
    if (weightAfter > weightBefore) this.events.reweighed(after);
    if (after.state === TrustState.banned && before.state !== TrustState.banned) this.events.banned(after);
    else if (isTrusted && !wasTrusted) this.events.trusted(after);
  }

  /** Keep the trusted-network counts right when an online identity gains or loses trust. */
  private moveTrusted(id: string, nowTrusted: boolean): void {
    const per = this.connections.get(id);
    if (!per) return;
    for (const [network, n] of per) bump(this.trustedNets, network, nowTrusted ? n : -n);
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
