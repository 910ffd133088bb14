/**
 * Reads the scrypt job's results (NDJSON, in input order, from `barnraise run`) beside its inputs, prints
 * each password's key, and checks a few of them against Node's own crypto.scrypt (OpenSSL): checking them
 * all here would cost as much CPU as the volunteers spent.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import { SCRYPT, type Credential } from './params.ts';

/** How many keys are recomputed here, spread over the job. */
const SPOT_CHECKS = 3;

interface ResultLine {
  index: number;
  status: 'done' | 'failed';
  output?: string;
  error?: string;
}

// Ctrl-C reaches every process of the pipeline: `barnraise run` cancels the job; this one says what came back.
process.on('SIGINT', () => {});

const inputsFile = process.argv[2];
if (!inputsFile) {
  console.error('usage: keys.ts INPUTS.jsonl < results.jsonl');
  process.exit(2);
}
const credentials = fs
  .readFileSync(inputsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Credential);

const keys = new Map<number, string>();
let failed = 0;
for await (const text of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!text.trim()) continue;
  const line = JSON.parse(text) as ResultLine;
  const cred = credentials[line.index]!;
  if (line.status === 'done') {
    keys.set(line.index, line.output!);
    console.log(`${cred.password.padEnd(28)} ${line.output}`);
  } else {
    failed++;
    console.log(`${cred.password.padEnd(28)} failed: ${line.error}`);
  }
}
if (keys.size + failed === 0) {
  console.error('no results came back (see the message above)');
  process.exit(1);
}

const indices = [...keys.keys()];
const sample = [...new Set([0, Math.floor(indices.length / 2), indices.length - 1].map((i) => indices[i]!))].slice(0, SPOT_CHECKS);
let mismatches = 0;
for (const i of sample) {
  const { password, salt } = credentials[i]!;
  const local = crypto
    .scryptSync(password, salt, SCRYPT.hashLength, { N: SCRYPT.costFactor, r: SCRYPT.blockSize, p: SCRYPT.parallelism, maxmem: 64 * 1024 * 1024 })
    .toString('hex');
  if (local !== keys.get(i)) {
    mismatches++;
    console.error(`key ${i} (${password}) differs from Node's crypto.scrypt: ${local}`);
  }
}
console.log(`${keys.size} keys derived with hash-wasm's scrypt (WebAssembly) by the swarm; ${sample.length - mismatches} of ${sample.length} spot checks match Node's crypto.scrypt`);
if (failed > 0) console.error(`${failed} tasks failed`);
process.exit(failed > 0 || mismatches > 0 ? 1 : 0);
