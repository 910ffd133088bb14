#!/usr/bin/env node
// The `barnraise` command as an installed bin: the CLI runs from its TypeScript source through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
