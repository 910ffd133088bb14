// The inputs of the scrypt job, as JSON Lines on stdout: COUNT made-up passwords, each with its own salt.
const count = Number(process.argv[2] ?? 200);
if (!(Number.isInteger(count) && count > 0)) {
  console.error('usage: node credentials.mjs [COUNT]');
  process.exit(2);
}
const words = ['correct', 'horse', 'battery', 'staple', 'barn', 'raise', 'volunteer', 'swarm'];
const lines = [];
for (let i = 0; i < count; i++) {
  const password = `${words[i % words.length]}-${words[(i * 5 + 3) % words.length]}-${i}`;
  lines.push(JSON.stringify({ password, salt: `salt-${i.toString(16).padStart(8, '0')}` }));
}
process.stdout.write(lines.join('\n') + '\n');
