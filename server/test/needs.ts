/** Tests that need something of the machine (a program, root): run where it is, skip saying why, fail under CI. */
import { describe, it } from 'vitest';

/**
 * `describe` when `problem` is null; otherwise skip with a line saying why, or, under CI (CI=true), which
 * installs what these tests need, fail with that reason: a skip there would hide a fault.
 */
export function describeNeeding(problem: string | null, name: string, body: () => void): void {
  if (problem === null) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs what CI has: ${problem}`, () => {
        throw new Error(`${problem}: CI=true, so this fails instead of skipping`);
      });
    });
    return;
  }
  console.log(`${problem}: skipping "${name}"`);
  describe.skip(name, body);
}
