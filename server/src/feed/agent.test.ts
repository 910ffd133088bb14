import { describe, expect, it } from 'vitest';
import { agentFamily } from './agent.ts';

describe('agentFamily', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36', 'Chrome', 'Linux'],
    ['Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0', 'Firefox', 'Android'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Safari', 'iOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0', 'Edge', 'Windows'],
    ['node/20.20.2', 'Node.js', 'server'],
    ['node/20.20.2 (barnraise local worker)', 'Node.js', 'this master'],
    ['', 'other', 'other'],
  ])('%s', (ua, browser, os) => {
    expect(agentFamily(ua)).toEqual({ browser, os });
  });
});
