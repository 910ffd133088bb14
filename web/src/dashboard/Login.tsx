import { useState, type FormEvent } from 'react';
import { selectAuthError, useDashboard } from './store.ts';

/** Asks for the operator token once; it is kept for this browser session only. */
export function Login() {
  const error = useDashboard(selectAuthError);
  const signIn = useDashboard((s) => s.signIn);
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) signIn(token.trim());
  };
  return (
    <main className="narrow">
      <h1>Barnraise dashboard</h1>
      <form className="card" onSubmit={submit}>
        <label htmlFor="token">Operator token</label>
        <p className="muted">Printed when the master first started; also in <code>data/operator-token</code>.</p>
        <input id="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} data-testid="login.token" />
        {error && (
          <p role="alert" className="problem" data-testid="login.error">
            {error}
          </p>
        )}
        <button className="primary" type="submit">
          Sign in
        </button>
      </form>
    </main>
  );
}
