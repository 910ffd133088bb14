/** The machine a run measured, recorded beside every figure. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  kernel: string;
  node: string;
  v8: string;
  chromium: string | null;
  sqlite: string | null;
  redis: string | null;
  fdLimit: string | null;
}

const run = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};

function osName(): string {
  try {
    const release = execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' });
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? `${os.type()} ${os.release()}`;
  } catch {
    return `${os.type()} ${os.release()}`;
  }
}

export function machineInfo(extra: { sqlite?: string | null; redis?: string | null } = {}): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    v8: process.versions.v8,
    chromium: run('/usr/bin/chromium', ['--version']),
    sqlite: extra.sqlite ?? null,
    redis: extra.redis ?? null,
    fdLimit: run('bash', ['-c', 'ulimit -n']),
  };
}
