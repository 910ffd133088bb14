// Entry of the store thread when running from TypeScript source: a worker thread does not inherit the
// parent's loader hooks, so register tsx first, then load thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
