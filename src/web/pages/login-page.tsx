import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type SignedInUser } from '../api-client.js';
import { Messages } from './messages.js';

export interface LoginPageProps {
  readonly api: ApiClient;
  /** Why the user sees this page again (session ended, signed out), if there is a reason to say. */
  readonly notice: string | null;
  readonly onSignedIn: (user: SignedInUser) => void;
}

export function LoginPage({ api, notice, onSignedIn }: LoginPageProps): ReactNode {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (name.trim() === '' || password === '') {
      setError('Enter your user name and password.');
      return;
    }
    setBusy(true);
    setError(null);
    api.login(name.trim(), password).then(
      (user) => {
        setPassword('');
        onSignedIn(user);
      },
      (failure: unknown) => {
        setBusy(false);
        setError(loginMessage(failure));
      },
    );
  };

  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit} noValidate>
        <h1>zerotrail</h1>
        <p className="muted">Sign in to investigate your Cloudflare Zero Trust logs.</p>
        {notice !== null && error === null ? <p className="notice">{notice}</p> : null}
        <label>
          User name
          <input
            name="name"
            autoComplete="username"
            value={name}
            onChange={(event) => setName(event.target.value)}
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <Messages error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}

function loginMessage(failure: unknown): string {
  if (!(failure instanceof ApiError)) return 'Signing in failed. Try again.';
  if (failure.code === 'AUTH_LOGIN_FAILED') return 'The user name or password is wrong.';
  return failure.message;
}
