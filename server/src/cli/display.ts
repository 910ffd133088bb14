/**
 * How a job's progress shows: on a terminal a progress bar (cli-progress) redrawn in place; in a pipe or a
 * file, a plain line now and then, so a log stays readable.
 */
import { SingleBar } from 'cli-progress';
import type { Progress } from '@barnraise/client';
import { formatSeconds } from './common.ts';

export interface ProgressView {
  update(p: Progress, volunteers: number | undefined): void;
  /** A line of its own, above the bar on a terminal. */
  note(line: string): void;
  stop(): void;
}

/** Seconds between two plain lines in a pipe (and one whenever the job ends). */
const LINE_EVERY_MS = 2000;

function fields(p: Progress, volunteers: number | undefined) {
  return {
    failed: p.failed,
    rate: p.tasksPerSecond.toFixed(p.tasksPerSecond < 10 ? 1 : 0),
    left: p.finished ? (p.status === 'cancelled' ? '-' : '0s') : formatSeconds(p.etaSeconds),
    volunteers: volunteers ?? '?',
  };
}

class BarView implements ProgressView {
  private readonly bar: SingleBar;
  private started = false;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.bar = new SingleBar({
      stream,
      format: '{bar} {percentage}% | {value}/{total} ended, {failed} failed | {rate} tasks/s | {left} left | {volunteers} volunteers',
      barsize: 24,
      hideCursor: true,
      fps: 5,
      // Redrawn even when unchanged, so that it comes back below a note at once.
      forceRedraw: true,
    });
  }

  update(p: Progress, volunteers: number | undefined): void {
    const f = fields(p, volunteers);
    if (!this.started) {
      this.started = true;
      this.bar.start(p.total, p.done + p.failed, f);
    } else {
      this.bar.setTotal(p.total);
      this.bar.update(p.done + p.failed, f);
    }
  }

  note(line: string): void {
    if (!this.started) return void this.stream.write(`${line}\n`);
    // Clear the bar's line, write the note there, and draw the bar again below it. cli-progress saved the
    // cursor where the bar began and goes back there when it stops: save it again at the bar's new line
    // (ESC 7), or the last lines would be written over the note.
    this.stream.write(`\r\x1b[2K${line}\n\x1b7`);
    this.bar.render();
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

class LineView implements ProgressView {
  private lastAt = 0;
  private lastEnded = -1;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly label: string,
  ) {}

  update(p: Progress, volunteers: number | undefined): void {
    const ended = p.done + p.failed;
    const now = Date.now();
    if (!p.finished && (ended === this.lastEnded || now - this.lastAt < LINE_EVERY_MS)) return;
    this.lastAt = now;
    this.lastEnded = ended;
    const f = fields(p, volunteers);
    this.stream.write(`${this.label}: ${ended}/${p.total} ended, ${f.failed} failed, ${f.rate} tasks/s, ${f.left} left, ${f.volunteers} volunteers\n`);
  }

  note(line: string): void {
    this.stream.write(`${line}\n`);
  }

  stop(): void {}
}

/** A bar when `stream` is a terminal (and `bar` allows it), plain lines otherwise. */
export function progressView(label: string, opts: { stream?: NodeJS.WriteStream; bar?: boolean } = {}): ProgressView {
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY && opts.bar !== false ? new BarView(stream) : new LineView(stream, label);
}
