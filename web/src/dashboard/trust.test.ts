import { describe, expect, it } from 'vitest';
import type { EventRow } from '@barnraise/shared';
import { formatPerTask, lastIdentityEvent, replicasPerTask, shortIdentity, validationField, type ValidationCounts } from './trust.ts';

const counts = (over: Partial<ValidationCounts> = {}): ValidationCounts => ({ mode: 'adaptive', quorum: 2, maxReplicas: 6, validated: 0, awaiting: 0, inconclusive: 0, replicas: 0, ...over });
const event = (seq: number, kind: string): EventRow => ({ seq, t: seq, kind, text: kind });

describe('dashboard validation view', () => {
  it('shortens an identity to i_ and six characters, and leaves short ids alone', () => {
    expect(shortIdentity('i_AbCdEfGhIjKlMnOpQrStUv')).toBe('i_AbCdEf…');
    expect(shortIdentity('i_short')).toBe('i_short');
  });

  it('counts replicas per task over the tasks that have results, final or awaiting', () => {
    expect(replicasPerTask(counts())).toBeNull();
    expect(formatPerTask(counts())).toBe('–');
    // 10 validated, 2 awaiting, 1 inconclusive: 13 tasks touched, 26 results.
    expect(replicasPerTask(counts({ validated: 10, awaiting: 2, inconclusive: 1, replicas: 26 }))).toBe(2);
    expect(formatPerTask(counts({ validated: 3, replicas: 4 }))).toBe('1.33×');
  });

  it('follows the newest ban or trust event, ignoring the rest of the log', () => {
    expect(lastIdentityEvent([])).toBe(0);
    expect(lastIdentityEvent([event(1, 'volunteer-joined'), event(2, 'job-created')])).toBe(0);
    const log = [event(1, 'identity-trusted'), event(2, 'volunteer-joined'), event(3, 'identity-banned'), event(4, 'task-inconclusive')];
    expect(lastIdentityEvent(log)).toBe(3);
  });

  it('sends validation only when the operator picked a mode, none included', () => {
    expect(validationField('')).toEqual({});
    expect(validationField('none')).toEqual({ validation: { mode: 'none' } });
    expect(validationField('adaptive')).toEqual({ validation: { mode: 'adaptive' } });
    expect(validationField('strict')).toEqual({ validation: { mode: 'strict' } });
  });
});
