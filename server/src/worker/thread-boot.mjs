// Entry of a compute thread when running from TypeScript source: register tsx, then load thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
