import { useMemo } from 'react';
import { renderSVG } from 'uqr';

/** The volunteer URL, and a QR code of it so that a phone can join by scanning. */
export function JoinCard() {
  const url = useMemo(() => new URL('/', location.href).href, []);
  const svg = useMemo(() => renderSVG(url, { border: 2 }), [url]);
  return (
    <section className="card join" aria-labelledby="join-h">
      <h2 id="join-h">Invite volunteers</h2>
      <p>
        Anyone who opens <a href={url} data-testid="join.url">{url}</a> and presses Start joins the swarm.
      </p>
      <img className="qr" alt={`QR code for ${url}`} src={`data:image/svg+xml;utf8,${encodeURIComponent(svg)}`} data-testid="join.qr" />
    </section>
  );
}
