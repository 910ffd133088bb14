/**
 * A picture of the Mandelbrot set computed by the swarm: the picture is cut into tiles, each tile is a task
 * (tile.js), and the tiles are painted into one PNG as they come back. Uses @barnraise/client.
 *
 *   pnpm example:mandelbrot [--out mandelbrot.png] [--width 1024] [--height 768] [--tile 64]
 *                           [--re=-0.75] [--im=0] [--span 3.2] [--iterations 1000]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Barnraise, TaskError } from '@barnraise/client';
import { encode } from 'fast-png';
import { DEFAULT_VIEW, paint, tilesOf, type View } from './picture.ts';

const VIEW_KEYS = Object.keys(DEFAULT_VIEW) as Array<keyof View>;
const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: 'mandelbrot.png' },
    // Every number of the view is a flag of its own: --width 2048, --re=-0.7436 (a negative one after "=").
    ...Object.fromEntries(VIEW_KEYS.map((k) => [k, { type: 'string' as const }])),
  },
});
const view: View = { ...DEFAULT_VIEW };
for (const key of VIEW_KEYS) {
  const text = (flags as Record<string, string | undefined>)[key];
  if (text === undefined) continue;
  const n = Number(text);
  const plane = key === 're' || key === 'im' || key === 'span';
  if (!Number.isFinite(n) || (key !== 're' && key !== 'im' && n <= 0) || (!plane && !Number.isInteger(n))) {
    console.error(`--${key} ${text}: expected a ${key === 're' || key === 'im' ? '' : 'positive '}${plane ? 'number' : 'integer'}`);
    process.exit(2);
  }
  view[key] = n;
}

// Where the `barnraise` CLI looks: the flags' variables, else the master and token `npm start` set up.
const url = process.env.BARNRAISE_URL ?? 'http://127.0.0.1:8080';
const tokenFile = path.join(process.env.BARNRAISE_DATA_DIR ?? 'data', 'operator-token');
const token = process.env.BARNRAISE_TOKEN ?? (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined);

const code = fs.readFileSync(new URL('./tile.js', import.meta.url), 'utf8');
const tiles = tilesOf(view);
const picture = new Uint8Array(view.width * view.height * 3);
const br = new Barnraise({ url, token });
const job = await br.submit({ name: 'mandelbrot', code, inputs: tiles });
console.error(`submitted job ${job.id}: ${tiles.length} tiles of ${view.width}×${view.height}; Ctrl-C cancels it`);
// The first Ctrl-C cancels the job; the tiles that came back are still written.
process.once('SIGINT', () => void job.cancel().catch(() => undefined));

const started = Date.now();
let painted = 0;
const failed: string[] = [];
for await (const result of job.asCompleted({ attempts: false })) {
  if (result instanceof TaskError) {
    failed.push(`tile ${result.index}: ${result.message}`);
    continue;
  }
  paint(picture, view.width, tiles[result.index]!, result.output as string);
  painted++;
  if (process.stderr.isTTY) process.stderr.write(`\r${painted}/${tiles.length} tiles`);
}
if (process.stderr.isTTY) process.stderr.write('\n');

const out = path.resolve(flags.out!);
fs.writeFileSync(out, encode({ width: view.width, height: view.height, data: picture, channels: 3, depth: 8 }));
const summary = await job.get();
console.log(`${painted} of ${tiles.length} tiles in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote ${out}`);
if (failed.length > 0) console.error(`${failed.length} tiles failed:\n  ${failed.slice(0, 5).join('\n  ')}`);
process.exit(summary.status === 'cancelled' ? 130 : failed.length > 0 ? 1 : 0);
