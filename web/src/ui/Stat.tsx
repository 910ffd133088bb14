import type { ReactNode } from 'react';

/** One labelled figure; `testId` is the dotted data-testid the end-to-end tests read. */
export function Stat({ label, testId, children }: { label: string; testId: string; children: ReactNode }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}
