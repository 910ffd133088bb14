/** What every benchmark receives and returns. */
import type { Row } from './table.ts';

export interface BenchContext {
  /** Scaled-down counts, so the whole suite runs in under 2 minutes on 2 cores. */
  quick: boolean;
  log(msg: string): void;
  /** `--profile DIR`: the measured Barnraise processes write V8 CPU profiles (`--cpu-prof`) under DIR. */
  profileDir?: string;
}

export interface BenchResult {
  name: string;
  rows: Row[];
  /** Every number measured, for the JSON report. */
  data: Record<string, unknown>;
  /** How it was measured, in a sentence or two each. */
  notes: string[];
}

export type Bench = (ctx: BenchContext) => Promise<BenchResult>;
