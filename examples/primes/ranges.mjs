// The inputs of the prime checker, as JSON Lines on stdout: [0, LIMIT) cut into ranges of CHUNK numbers
// (the original sent each worker 100 numbers at a time).
const [limit = 100_000, chunk = 100] = process.argv.slice(2).map(Number);
if (!(Number.isInteger(limit) && limit > 0 && Number.isInteger(chunk) && chunk > 0)) {
  console.error('usage: node ranges.mjs [LIMIT] [CHUNK]');
  process.exit(2);
}
const lines = [];
for (let from = 0; from < limit; from += chunk) lines.push(JSON.stringify({ from, to: Math.min(limit, from + chunk) }));
process.stdout.write(lines.join('\n') + '\n');
