import { describe, expect, it } from 'vitest';
import { describeViolation, installGuards, SandboxError } from './guard.ts';

describe('installGuards', () => {
  const scope = () => {
    const s: Record<string, unknown> = { fetch: () => 'real', WebSocket: class {}, importScripts: () => 'real', XMLHttpRequest: class {} };
    installGuards(s);
    return s as Record<string, (...args: unknown[]) => unknown> & Record<string, Record<string, (...args: unknown[]) => unknown>>;
  };

  it('makes fetch reject with an error naming the sandbox and the target', async () => {
    await expect(scope().fetch!('http://127.0.0.1:9/x')).rejects.toThrow('sandbox: network access is not allowed (fetch http://127.0.0.1:9/x)');
  });

  it('makes network constructors and importScripts throw SandboxError', () => {
    const s = scope();
    expect(() => new (s.WebSocket as unknown as new (u: string) => unknown)('ws://127.0.0.1:9')).toThrow(SandboxError);
    expect(() => s.importScripts!('http://127.0.0.1:9/a.js')).toThrow('sandbox: network access is not allowed (importScripts http://127.0.0.1:9/a.js)');
  });

  it('refuses storage with the same kind of message, and cannot be put back', () => {
    const s = scope();
    expect(() => s.indexedDB!.open!('db')).toThrow('sandbox: storage access is not allowed (indexedDB)');
    expect(() => s.localStorage!.setItem!('k', 'v')).toThrow('sandbox: storage access is not allowed (localStorage)');
    expect(() => {
      (s as Record<string, unknown>).fetch = () => 'again';
    }).toThrow(TypeError);
  });

  it('describes a CSP violation by directive and blocked URI', () => {
    expect(describeViolation({ effectiveDirective: 'connect-src', blockedURI: 'ws://127.0.0.1:9/' })).toBe(
      'sandbox: blocked by the Content-Security-Policy (connect-src ws://127.0.0.1:9/)',
    );
  });
});
