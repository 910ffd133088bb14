/** A job's inputs from a file or stdin: a JSON array, or JSON Lines (one input per line). */
import fs from 'node:fs/promises';
import { CliError } from './common.ts';

/**
 * Inputs from `text`: a text that is one JSON array is the array of inputs; otherwise each non-empty line is
 * one input. (So a JSON Lines file of a single array is read as that array's elements.)
 */
export function parseInputs(text: string, source: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const whole: unknown = JSON.parse(trimmed);
      if (Array.isArray(whole)) {
        if (whole.length === 0) throw new CliError(`${source}: the array of inputs is empty`);
        return whole;
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      // Not one JSON value: JSON Lines whose first input is an array.
    }
  }
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (const [k, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      inputs.push(JSON.parse(line));
    } catch (err) {
      throw new CliError(`${source} line ${k + 1} is not JSON: ${(err as Error).message}`);
    }
  }
  if (inputs.length === 0) throw new CliError(`${source}: no inputs (give a JSON array, or one JSON value per line)`);
  return inputs;
}

/** Read inputs from a file, or from stdin for `-`. */
export async function readInputs(file: string): Promise<unknown[]> {
  if (file !== '-') {
    const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read inputs from ${file}: ${err.code ?? err.message}`);
    });
    return parseInputs(text, file);
  }
  if (process.stdin.isTTY) throw new CliError('no inputs: give --inputs FILE, or pipe them in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return parseInputs(Buffer.concat(chunks).toString('utf8'), 'stdin');
}
