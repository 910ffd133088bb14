/** Test doubles for the page's injected edges: the worker host (sandbox frame) and the WebSocket. */
import type { AttemptOutcome, MasterMessage, VolunteerMessage } from '@barnraise/shared';
import type { WorkerHandle, WorkerHost, WorkerListener } from '../sandbox/host.ts';
import type { RunRequest, ToWorker } from '../sandbox/messages.ts';
import type { SocketLike } from '@barnraise/shared';

export class FakeWorker implements WorkerHandle {
  /** Every attempt it was sent, in order, whether alone or in a batch. */
  readonly received: RunRequest[] = [];
  /** Messages it was sent (a batch is one). */
  messages = 0;
  terminated = false;
  constructor(
    readonly id: number,
    readonly listener: WorkerListener,
  ) {}
  post(msg: ToWorker): void {
    this.messages++;
    if (msg.t === 'runs') this.received.push(...msg.runs);
    else this.received.push(msg);
  }
  terminate(): void {
    this.terminated = true;
  }
  /** The attempt this worker was last asked to run. */
  get current(): RunRequest | undefined {
    return this.received.at(-1);
  }
  /** Attempts reported done, by id. */
  private readonly finished = new Set<string>();
  /** The attempt it runs now: the first it was sent and has not reported. */
  get running(): RunRequest | undefined {
    return this.received.find((r) => !this.finished.has(r.a));
  }
  /** Report the running attempt done. */
  finish(outcome: AttemptOutcome = { ok: true, output: null, ms: 5 }): void {
    const a = this.running?.a;
    if (!a) throw new Error(`worker ${this.id} runs nothing`);
    this.finished.add(a);
    this.listener.message({ t: 'done', a, outcome });
  }
}

export class FakeHost implements WorkerHost {
  readonly spawned: FakeWorker[] = [];
  spawn(listener: WorkerListener): FakeWorker {
    const w = new FakeWorker(this.spawned.length + 1, listener);
    this.spawned.push(w);
    return w;
  }
  get alive(): FakeWorker[] {
    return this.spawned.filter((w) => !w.terminated);
  }
}

export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: VolunteerMessage[] = [];
  /** UTF-8 bytes of each frame sent, in order. */
  readonly sentBytes: number[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sentBytes.push(new TextEncoder().encode(data).length);
    this.sent.push(JSON.parse(data) as VolunteerMessage);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  // ---- the master's side
  /** Open, and (as the master does, rule V1) send the challenge the hello answers. */
  open(challenge = true): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
    if (challenge) this.deliver({ type: 'challenge', nonce: 'n0nce-for-the-test-0001' });
  }
  deliver(msg: MasterMessage | object): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** Frames of one type sent so far. */
  frames<T extends VolunteerMessage['type']>(type: T): Extract<VolunteerMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<VolunteerMessage, { type: T }> => m.type === type);
  }
}
