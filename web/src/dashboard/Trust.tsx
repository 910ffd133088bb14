import type { TrustLabel } from '@barnraise/shared';
import { shortIdentity } from './trust.ts';

/** An identity, short, with the full id in its title (and selectable text for copying). */
export function IdentityId({ id, testId }: { id: string | undefined; testId?: string }) {
  if (!id) return <span className="muted" data-testid={testId}>none</span>;
  return (
    <span className="mono" title={id} data-testid={testId}>
      {shortIdentity(id)}
    </span>
  );
}

/** A trust label as a coloured badge: banned stands out, vouched and seasoned read as settled. */
export function TrustBadge({ trust, testId }: { trust: TrustLabel; testId?: string }) {
  return (
    <span className={`trust ${trust}`} data-testid={testId}>
      {trust}
    </span>
  );
}
