import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('configuration', () => {
  it('[P5][H2] the heartbeat timeout and the idle beat follow the heartbeat, whether set in the environment or by overrides, unless set themselves', () => {
    expect(loadConfig({})).toMatchObject({ heartbeatMs: 2000, heartbeatTimeoutMs: 8000, idleHeartbeatMs: 15000 });
    expect(loadConfig({ BARNRAISE_HEARTBEAT_MS: '400' })).toMatchObject({ heartbeatTimeoutMs: 1600, idleHeartbeatMs: 3000 });
    expect(loadConfig({}, { heartbeatMs: 100 })).toMatchObject({ heartbeatTimeoutMs: 400, idleHeartbeatMs: 750 });
    expect(loadConfig({ BARNRAISE_IDLE_HEARTBEAT_MS: '9000' }, { heartbeatMs: 100, heartbeatTimeoutMs: 1000 })).toMatchObject({ heartbeatTimeoutMs: 1000, idleHeartbeatMs: 9000 });
  });

  it('[P5][H2] refuses a heartbeat timeout under twice the heartbeat, which would drop volunteers that are alive', () => {
    expect(() => loadConfig({ BARNRAISE_HEARTBEAT_TIMEOUT_MS: '3000' })).toThrow(/at least twice the heartbeat \(4000 ms\)/);
    expect(() => loadConfig({}, { heartbeatMs: 500, heartbeatTimeoutMs: 999 })).toThrow(/HEARTBEAT_TIMEOUT/);
    expect(loadConfig({ BARNRAISE_HEARTBEAT_TIMEOUT_MS: '4000' })).toMatchObject({ heartbeatTimeoutMs: 4000 });
  });
});
