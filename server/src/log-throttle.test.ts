import { expect, it } from 'vitest';
import { throttled } from './log-throttle.ts';

it('[K8] a burst of store errors logs one line, then one line per interval with the count held back', () => {
  let t = 0;
  const lines: Array<[unknown, number]> = [];
  const onError = throttled((err, n) => lines.push([err, n]), 5000, () => t);
  for (let k = 0; k < 100; k++) onError(`e${k}`);
  t = 5000;
  onError('late');
  expect(lines).toEqual([
    ['e0', 0],
    ['late', 99],
  ]);
});
