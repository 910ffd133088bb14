#!/usr/bin/env node
// The `barnraise` command: the build when it is current (entry.js), else the TypeScript source through
// tsx's loader, registered only then (also with BARNRAISE_FROM_SOURCE=1).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliEntry } from './entry.js';

const { file, built } = cliEntry(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
if (!built) (await import('tsx/esm/api')).register();
await import(pathToFileURL(file).href);
