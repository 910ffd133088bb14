export * from './limits.ts';
export * from './protocol.ts';
export * from './codec.ts';
export * from './schemas/rest.ts';
export * from './runner.ts';
export * from './reconnect.ts';
export * from './feed.ts';
export * from './csp.ts';
