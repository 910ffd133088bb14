/** The commands for people who submit jobs, built on @barnraise/client. */
import type { Command } from 'commander';
import { registerManage } from './manage.ts';
import { registerSubmit } from './submit.ts';
import { registerTry } from './try.ts';

export function registerJobCommands(program: Command): void {
  registerSubmit(program);
  registerTry(program);
  registerManage(program);
}
