import { useState, type FormEvent } from 'react';
import { api, ApiError, session } from '../api';
import { ErrorBox } from '../components/ui';

/** Sign-in with an API key: checked with GET /me, then kept in sessionStorage for this tab only. */
export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('GET', '/me', { key: key.trim() });
      session.set(key.trim());
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new ApiError(401, err.code, 'That API key is not valid in this Statusflow.') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="card" onSubmit={submit}>
        <div className="brand" style={{ padding: 0 }}>
          <img src="/favicon.svg" alt="" width={26} height={26} /> <h1>Statusflow</h1>
        </div>
        <p className="muted" style={{ margin: 0 }}>
          Sign in with an API key. The server printed an admin key on its first start; admins create more with POST /api/v1/api-keys (or use STATUSFLOW_ADMIN_KEY).
        </p>
        <label className="field">
          <span>API key</span>
          <input type="password" autoComplete="off" autoFocus value={key} onChange={(e) => setKey(e.target.value)} placeholder="sf_…" required />
        </label>
        <ErrorBox error={error} />
        <button className="primary" type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="muted small" style={{ margin: 0 }}>
          The key stays in this browser tab only and is forgotten when you close it.
        </p>
      </form>
    </main>
  );
}
