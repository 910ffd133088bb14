/** An in-process master on an ephemeral loopback port, with a real SQLite file store. */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig, type ConfigOverrides } from '../src/config.ts';
import { ThreadedStore } from '../src/store/threaded.ts';
import { api, tempDir } from './helpers.ts';

export interface TestMaster {
  app: FastifyInstance;
  /** The master's own store: a test writes through it what another master would (no local events). */
  store: ThreadedStore;
  url: string;
  token: string;
  api: ReturnType<typeof api>;
  close(): Promise<void>;
}

export async function startTestMaster(overrides: ConfigOverrides = {}): Promise<TestMaster> {
  const dataDir = tempDir();
  const token = 'test-token-0123456789';
  const config = loadConfig({}, { dataDir, port: 0, host: '127.0.0.1', logLevel: 'warn', ...overrides });
  // The store the master runs with (server.ts): SQLite on its own thread.
  const store = await ThreadedStore.open({ file: path.join(dataDir, 'barnraise.db') });
  const app = await buildApp({ config, store, token, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    store,
    url,
    token,
    api: api(url, token),
    async close() {
      app.draining = true;
      await app.scheduler.drain();
      await app.jobs.followersEnded(5000);
      await app.close();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
