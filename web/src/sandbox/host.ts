/**
 * The page's side of the sandbox: a hidden `<iframe sandbox="allow-scripts">` loading sandbox.html, which
 * starts workers on request. Each worker gets a MessagePort whose other end stays here, so attempts go
 * page <-> worker directly and the frame only spawns and terminates.
 */
import type { FromFrame, FromWorker, ToFrame, ToWorker } from './messages.ts';

/** A started compute worker as the pool sees it. */
export interface WorkerHandle {
  post(msg: ToWorker): void;
  terminate(): void;
}

export interface WorkerListener {
  message(msg: FromWorker): void;
  /** An uncaught error in the worker, or the worker failed to start. */
  error(message: string): void;
}

/** Starts compute workers (the sandbox frame in the page, a fake in unit tests). */
export interface WorkerHost {
  spawn(listener: WorkerListener): WorkerHandle;
}

/** How long the frame may take to say it is ready before the page reports the sandbox broken. */
const READY_TIMEOUT_MS = 15_000;

export class SandboxFrame implements WorkerHost {
  private readonly iframe: HTMLIFrameElement;
  private readonly listeners = new Map<number, WorkerListener>();
  /** Messages for the frame before it is ready (the iframe loads asynchronously). */
  private backlog: Array<[ToFrame, Transferable[]]> | null = [];
  private nextId = 1;

  constructor(
    onBroken: (why: string) => void,
    src = new URL('sandbox.html', document.baseURI).href,
  ) {
    const iframe = document.createElement('iframe');
    // allow-scripts only: no allow-same-origin, so the frame and its workers get an opaque origin.
    iframe.setAttribute('sandbox', 'allow-scripts');
    iframe.hidden = true;
    iframe.title = 'compute sandbox';
    iframe.src = src;
    this.iframe = iframe;
    const timer = setTimeout(() => onBroken('the compute sandbox did not start'), READY_TIMEOUT_MS);
    window.addEventListener('message', (e: MessageEvent<FromFrame>) => {
      // Only our frame, and only while it really is an opaque origin.
      if (e.source !== iframe.contentWindow || e.origin !== 'null') return;
      const msg = e.data;
      if (msg?.t === 'ready') {
        clearTimeout(timer);
        const backlog = this.backlog ?? [];
        this.backlog = null;
        for (const [m, transfer] of backlog) this.post(m, transfer);
      } else if (msg?.t === 'worker-error') {
        this.listeners.get(msg.id)?.error(String(msg.message));
      }
    });
    document.body.append(iframe);
  }

  private post(msg: ToFrame, transfer: Transferable[] = []): void {
    if (this.backlog) this.backlog.push([msg, transfer]);
    else this.iframe.contentWindow?.postMessage(msg, '*', transfer);
  }

  spawn(listener: WorkerListener): WorkerHandle {
    const id = this.nextId++;
    const channel = new MessageChannel();
    channel.port1.onmessage = (e: MessageEvent<FromWorker>) => listener.message(e.data);
    this.listeners.set(id, listener);
    this.post({ t: 'spawn', id }, [channel.port2]);
    return {
      post: (msg) => channel.port1.postMessage(msg),
      terminate: () => {
        channel.port1.close();
        this.listeners.delete(id);
        this.post({ t: 'terminate', id });
      },
    };
  }
}
