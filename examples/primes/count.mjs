// Reads the job's results (NDJSON lines in input order, from `barnraise run`) and sums them up.
import readline from 'node:readline';

// Ctrl-C reaches every process of the pipeline: `barnraise run` cancels the job, and this one stays to say
// what had come back by then.
process.on('SIGINT', () => {});

let tasks = 0;
let count = 0;
let largest = null;
const failed = [];
for await (const text of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!text.trim()) continue;
  const line = JSON.parse(text);
  tasks++;
  if (line.status !== 'done') {
    failed.push(`task ${line.index}: ${line.error}`);
    continue;
  }
  count += line.output.length;
  if (line.output.length > 0) largest = Math.max(largest ?? 0, line.output.at(-1));
}
if (tasks === 0) {
  console.error('no results came back (see the message above)');
  process.exit(1);
}
console.log(`${count} primes found by ${tasks} tasks; the largest: ${largest}`);
if (failed.length > 0) {
  console.error(`${failed.length} tasks failed:\n  ${failed.slice(0, 5).join('\n  ')}`);
  process.exit(1);
}
