import { useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { z } from 'zod';
import { ApiError, ROLES, type ApiClient, type Role, type SignedInUser } from '../api-client.js';
import {
  SettingsClient,
  type ApiKeyInfo,
  type AuditLine,
  type CreatedApiKey,
  type ManagedUser,
} from './settings-client.js';
import { displayText, formatTime } from '../format.js';
import { Messages } from './messages.js';
import { ConfirmButton } from './confirm-button.js';

export interface SettingsPageProps {
  readonly user: SignedInUser;
  readonly api: ApiClient;
}

const AUDIT_PAGE_SIZE = 25;

const retentionSchema = z.object({
  retention: z.object({
    days: z.number(),
    origin: z.enum(['settings', 'config']),
    configDays: z.number(),
    minDays: z.number(),
    maxDays: z.number(),
  }),
});
type Retention = z.infer<typeof retentionSchema>['retention'];

function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

/** A time in a column whose heading names the zone; `never` for one that has not happened. */
function when(iso: string | null): string {
  return iso === null ? 'never' : formatTime(iso, { zone: false });
}

// The rules the server applies to a new user, checked here first so that every problem is named at once, beside
// its field and in words; the server checks them again.
const USER_NAME = /^[\p{L}\p{N}._@+-]+$/u;
const MAX_USER_NAME = 100;
const MIN_PASSWORD = 12;

/** What is wrong with the new user's fields, by field; `form` for what belongs to no one field. */
interface NewUserProblems {
  readonly name: string | null;
  readonly password: string | null;
  readonly form: string | null;
}

const NO_PROBLEMS: NewUserProblems = { name: null, password: null, form: null };

function newUserProblems(name: string, password: string): NewUserProblems {
  return {
    name:
      name === ''
        ? 'Enter a user name.'
        : name.length > MAX_USER_NAME
          ? `The user name may have at most ${MAX_USER_NAME} characters.`
          : USER_NAME.test(name)
            ? null
            : 'The user name may hold only letters, digits and . _ @ + -',
    password: password.length < MIN_PASSWORD ? `The initial password needs at least ${MIN_PASSWORD} characters.` : null,
    form: null,
  };
}

/**
 * A refused new user in the form's words. The server's field problems ("body.name: …") go beside their field
 * instead of the API's "The request is invalid: body.name: …" at the top of the card.
 */
function refusedUserProblems(failure: unknown): NewUserProblems {
  if (!(failure instanceof ApiError)) return { ...NO_PROBLEMS, form: 'The user could not be added.' };
  if (failure.code === 'AUTH_PASSWORD_WEAK') return { ...NO_PROBLEMS, password: failure.message };
  const problems = failure.details['problems'];
  if (failure.code !== 'HTTP_REQUEST_INVALID' || !Array.isArray(problems)) {
    return { ...NO_PROBLEMS, form: failure.message };
  }
  const about = (field: string): string | null => {
    const found = problems.map(String).find((problem) => problem.startsWith(`body.${field}: `));
    return found === undefined ? null : `${found.slice(`body.${field}: `.length)}.`;
  };
  const name = about('name');
  const password = about('password');
  return {
    name: name === null ? null : `User name: ${name}`,
    password: password === null ? null : `Initial password: ${password}`,
    form: name === null && password === null ? failure.message : null,
  };
}

function hasProblems(problems: NewUserProblems): boolean {
  return problems.name !== null || problems.password !== null || problems.form !== null;
}

/** Admins manage users and their roles, API keys and retention, and read zerotrail's own audit trail here. */
export function SettingsPage({ user, api }: SettingsPageProps): ReactNode {
  const client = useMemo(() => new SettingsClient(api), [api]);
  const [users, setUsers] = useState<readonly ManagedUser[] | null>(null);
  // Every change lands in the audit trail, so the trail reloads after each one.
  const [changes, setChanges] = useState(0);
  const changed = useCallback(() => setChanges((count) => count + 1), []);

  const [usersError, setUsersError] = useState<string | null>(null);
  const isAdmin = user.role === 'admin';

  useEffect(() => {
    if (!isAdmin) return;
    client.listUsers().then(
      (list) => {
        setUsers(list);
        setUsersError(null);
      },
      (failure: unknown) => setUsersError(messageOf(failure, 'The users could not be loaded.')),
    );
  }, [client, isAdmin, changes]);

  if (!isAdmin) {
    return (
      <div className="page">
        <h1>Settings</h1>
        <Messages error="Only an admin can see Settings. Ask an admin if you need a user, a role or an API key changed." />
      </div>
    );
  }
  return (
    <div className="page">
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <Messages error={usersError} />
      <UsersSection client={client} me={user.name} users={users} onChanged={changed} />
      <ApiKeysSection client={client} me={user.name} users={users} changes={changes} onChanged={changed} />
      <RetentionSection api={api} onChanged={changed} />
      <AuditSection client={client} changes={changes} />
    </div>
  );
}

interface UsersSectionProps {
  readonly client: SettingsClient;
  readonly me: string;
  readonly users: readonly ManagedUser[] | null;
  readonly onChanged: () => void;
}

function UsersSection({ client, me, users, onChanged }: UsersSectionProps): ReactNode {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('analyst');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [problems, setProblems] = useState<NewUserProblems>(NO_PROBLEMS);

  const run = (work: Promise<void>, done: string): void => {
    setBusy(true);
    setError(null);
    setNotice(null);
    work
      .then(
        () => {
          setNotice(done);
          onChanged();
        },
        (failure: unknown) => setError(messageOf(failure, 'The change could not be saved.')),
      )
      .finally(() => setBusy(false));
  };

  const add = (event: FormEvent): void => {
    event.preventDefault();
    const added = name.trim();
    const found = newUserProblems(added, password);
    setProblems(found);
    if (hasProblems(found)) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    client
      .addUser({ name: added, role, password })
      .then(
        () => {
          setName('');
          setPassword('');
          setNotice(`User "${added}" added as ${role}.`);
          onChanged();
        },
        (failure: unknown) => setProblems(refusedUserProblems(failure)),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section className="card" aria-labelledby="users-heading">
      <h2 id="users-heading">Users and roles</h2>
      <p className="muted">
        Admins manage sources, users and settings; analysts search and investigate; viewers only read.
      </p>
      <Messages error={error} notice={notice} />
      {users === null ? (
        <p className="muted">Loading users…</p>
      ) : (
        <div className="table-scroll">
          <table className="grid" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Added (UTC)</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((entry) => (
                <tr key={entry.name}>
                  <td>
                    {displayText(entry.name)}
                    {entry.name === me ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>
                    <select
                      aria-label={`Role of ${entry.name}`}
                      value={entry.role}
                      disabled={busy}
                      onChange={(event) => {
                        const next = event.target.value as Role;
                        run(client.setRole(entry.name, next), `${entry.name} is now ${next}.`);
                      }}
                    >
                      {ROLES.map((option) => (
                        <option key={option} value={option}>
                          {option}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="time">{when(entry.createdAt)}</td>
                  <td>
                    <ConfirmButton
                      open={confirming === entry.name}
                      busy={busy}
                      question={`Delete ${entry.name}?`}
                      confirmLabel="Delete user"
                      buttonLabel="Delete"
                      buttonAriaLabel={`Delete ${entry.name}`}
                      onOpen={() => setConfirming(entry.name)}
                      onConfirm={() => {
                        setConfirming(null);
                        run(client.removeUser(entry.name), `User "${entry.name}" deleted.`);
                      }}
                      onCancel={() => setConfirming(null)}
                    >
                      <strong>Delete the user &quot;{displayText(entry.name)}&quot;?</strong> Their sessions end and
                      their API keys stop working at once. The audit trail keeps what they did.
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={add} aria-label="Add user" noValidate>
        <h3>Add user</h3>
        <label>
          User name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            autoComplete="off"
            aria-invalid={problems.name !== null}
            aria-describedby={problems.name === null ? undefined : 'new-user-name-problem'}
          />
        </label>
        <FieldProblem id="new-user-name-problem" problem={problems.name} />
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
        <label>
          Initial password
          <input
            type="password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="new-password"
            aria-invalid={problems.password !== null}
            aria-describedby={problems.password === null ? undefined : 'new-user-password-problem'}
          />
        </label>
        <FieldProblem id="new-user-password-problem" problem={problems.password} />
        <Messages error={problems.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Add user
          </button>
        </div>
      </form>
    </section>
  );
}

/** A field's problem, right under it; the field points at it with aria-describedby. */
function FieldProblem({ id, problem }: { readonly id: string; readonly problem: string | null }): ReactNode {
  return problem === null ? null : (
    <p className="error field-problem" role="alert" id={id}>
      {displayText(problem)}
    </p>
  );
}

interface ApiKeysSectionProps {
  readonly client: SettingsClient;
  readonly me: string;
  readonly users: readonly ManagedUser[] | null;
  readonly changes: number;
  readonly onChanged: () => void;
}

function ApiKeysSection({ client, me, users, changes, onChanged }: ApiKeysSectionProps): ReactNode {
  const [keys, setKeys] = useState<readonly ApiKeyInfo[] | null>(null);
  const [owner, setOwner] = useState(me);
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);

  useEffect(() => {
    client.listApiKeys().then(
      (list) => setKeys(list),
      (failure: unknown) => setError(messageOf(failure, 'The API keys could not be loaded.')),
    );
  }, [client, changes]);

  const create = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    setCopied(null);
    client
      .createApiKey(owner, label.trim())
      .then(
        (answer) => {
          setCreated(answer);
          setLabel('');
          onChanged();
        },
        (failure: unknown) => setError(messageOf(failure, 'The API key could not be created.')),
      )
      .finally(() => setBusy(false));
  };

  const revoke = (key: ApiKeyInfo): void => {
    setBusy(true);
    setError(null);
    client
      .revokeApiKey(key.id)
      .then(
        () => {
          setNotice(`API key ${key.prefix}… revoked; it no longer works.`);
          // A revoked key is worth nothing; copying it from the box would only mislead.
          setCreated((shown) => (shown?.apiKey.id === key.id ? null : shown));
          onChanged();
        },
        (failure: unknown) => setError(messageOf(failure, 'The API key could not be revoked.')),
      )
      .finally(() => setBusy(false));
  };

  const copy = (key: string): void => {
    navigator.clipboard.writeText(key).then(
      () => setCopied('Copied to the clipboard.'),
      () => setCopied('The browser would not copy it: select the key and copy it yourself.'),
    );
  };

  return (
    <section className="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <p className="muted">
        Scripts send a key as <code>Authorization: Bearer &lt;key&gt;</code>; it acts with its user&apos;s role.
      </p>
      <Messages error={error} notice={notice} />
      {created === null ? null : (
        <div className="warning" role="status" aria-label="New API key">
          <p>
            <strong>Copy this key now: it will not be shown again.</strong> zerotrail keeps only a hash of it. Key for{' '}
            {displayText(created.apiKey.user)} ({created.apiKey.role})
            {created.apiKey.label === '' ? '' : `, "${displayText(created.apiKey.label)}"`}:
          </p>
          <input
            className="mono"
            readOnly
            value={created.key}
            aria-label="New API key"
            onFocus={(event) => event.target.select()}
          />
          <div className="actions">
            <button type="button" onClick={() => copy(created.key)}>
              Copy key
            </button>
            <button type="button" className="quiet" onClick={() => setCreated(null)}>
              I have copied it
            </button>
          </div>
          {copied === null ? null : <p className="muted">{copied}</p>}
        </div>
      )}
      {keys === null ? (
        <p className="muted">Loading API keys…</p>
      ) : keys.length === 0 ? (
        <p className="muted">No API keys yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="grid" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Label</th>
                <th scope="col">User</th>
                <th scope="col">Created (UTC)</th>
                <th scope="col">Last used (UTC)</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td className="mono">{displayText(key.prefix)}…</td>
                  <td>{key.label === '' ? <span className="muted">no label</span> : displayText(key.label)}</td>
                  <td>
                    {key.user === null ? 'unknown' : displayText(key.user)}{' '}
                    {key.role === null ? null : <span className="role">{key.role}</span>}
                  </td>
                  <td className="time">{when(key.createdAt)}</td>
                  <td className="time">{when(key.lastUsedAt)}</td>
                  <td>
                    <ConfirmButton
                      open={confirming === key.id}
                      busy={busy}
                      question={`Revoke ${key.prefix}?`}
                      confirmLabel="Revoke key"
                      buttonLabel="Revoke"
                      buttonAriaLabel={`Revoke ${key.prefix}`}
                      onOpen={() => setConfirming(key.id)}
                      onConfirm={() => {
                        setConfirming(null);
                        revoke(key);
                      }}
                      onCancel={() => setConfirming(null)}
                    >
                      <strong>Revoke the API key {displayText(key.prefix)}…?</strong> Every script that sends it is
                      refused from now on. A revoked key cannot be restored; create a new one if it is needed again.
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={create} aria-label="Create API key">
        <h3>Create API key</h3>
        <label>
          For user
          <select value={owner} onChange={(event) => setOwner(event.target.value)}>
            {(users ?? []).map((entry) => (
              <option key={entry.name} value={entry.name}>
                {displayText(entry.name)} ({entry.role})
              </option>
            ))}
          </select>
        </label>
        <label>
          Label
          <input
            value={label}
            onChange={(event) => setLabel(event.target.value)}
            placeholder="What uses it, e.g. SIEM pull"
            maxLength={100}
          />
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create API key
          </button>
        </div>
      </form>
    </section>
  );
}

interface RetentionSectionProps {
  readonly api: ApiClient;
  readonly onChanged: () => void;
}

/** How long events are kept; the admin's choice overrides the config file and the hourly retention run applies it. */
function RetentionSection({ api, onChanged }: RetentionSectionProps): ReactNode {
  const [retention, setRetention] = useState<Retention | null>(null);
  const [days, setDays] = useState('');
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.request('GET', '/api/settings/retention', retentionSchema).then(
      (answer) => {
        setRetention(answer.retention);
        setDays(String(answer.retention.days));
      },
      (failure: unknown) => setError(messageOf(failure, 'The retention setting could not be loaded.')),
    );
  }, [api]);

  const save = (event: FormEvent): void => {
    event.preventDefault();
    const value = Number(days.trim());
    if (retention !== null && (!Number.isInteger(value) || value < retention.minDays || value > retention.maxDays)) {
      setNotice(null);
      setError(
        `Enter a whole number of days from ${retention.minDays} to ${retention.maxDays.toLocaleString('en-US')}.`,
      );
      return;
    }
    setBusy(true);
    setError(null);
    setNotice(null);
    api
      .request('POST', '/api/settings/retention', retentionSchema, { days: value })
      .then(
        (answer) => {
          setRetention(answer.retention);
          setDays(String(answer.retention.days));
          setNotice(
            `Events are now kept ${answer.retention.days} day${answer.retention.days === 1 ? '' : 's'}. Older ones are deleted by the next hourly retention run.`,
          );
          onChanged();
        },
        (failure: unknown) => setError(messageOf(failure, 'The retention could not be saved.')),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section className="card" aria-labelledby="retention-heading">
      <h2 id="retention-heading">Retention</h2>
      <p className="muted">
        {retention === null
          ? 'How long zerotrail keeps collected events.'
          : retention.origin === 'settings'
            ? `Events are kept ${retention.days} days, as set here (the config file says ${retention.configDays}).`
            : `Events are kept ${retention.days} days, from the config file (retention.max_age_days). A value saved here overrides it.`}
      </p>
      <Messages error={error} notice={notice} />
      <form className="retention-form" aria-label="Retention" onSubmit={save} noValidate>
        <label>
          Keep events for (days)
          <input
            name="retentionDays"
            type="number"
            inputMode="numeric"
            min={retention?.minDays ?? 1}
            max={retention?.maxDays}
            step={1}
            value={days}
            disabled={retention === null}
            onChange={(event) => setDays(event.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={busy || retention === null}>
          {busy ? 'Saving…' : 'Save retention'}
        </button>
      </form>
    </section>
  );
}

interface AuditSectionProps {
  readonly client: SettingsClient;
  readonly changes: number;
}

function AuditSection({ client, changes }: AuditSectionProps): ReactNode {
  // The cursors of the pages before the current one, so "Newer" can go back; null is the newest page.
  const [cursors, setCursors] = useState<readonly (number | null)[]>([null]);
  const [page, setPage] = useState<{ readonly entries: readonly AuditLine[]; readonly next: number | null } | null>(
    null,
  );
  const [error, setError] = useState<string | null>(null);
  const before = cursors.at(-1) ?? null;

  useEffect(() => {
    client.audit(AUDIT_PAGE_SIZE, before).then(
      (answer) => {
        setPage({ entries: answer.entries, next: answer.nextBefore });
        setError(null);
      },
      (failure: unknown) => setError(messageOf(failure, 'The audit trail could not be loaded.')),
    );
  }, [client, before, changes]);

  return (
    <section className="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      <p className="muted">Sign-ins, failed sign-ins, and changes to sources, users and keys, newest first.</p>
      <Messages error={error} />
      {page === null ? (
        <p className="muted">Loading the audit trail…</p>
      ) : page.entries.length === 0 ? (
        <p className="muted">Nothing recorded yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="grid" aria-label="Audit trail">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">From</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.entries.map((entry) => (
                <tr key={entry.id}>
                  <td className="time">{when(entry.at)}</td>
                  <td>{entry.actor === null ? <span className="muted">unknown</span> : displayText(entry.actor)}</td>
                  <td>{displayText(entry.action)}</td>
                  <td>{entry.target === null ? '' : displayText(entry.target)}</td>
                  <td>{displayText(entry.outcome)}</td>
                  <td className="mono">{entry.ip === null ? '' : displayText(entry.ip)}</td>
                  <td className="mono wrap">
                    {Object.keys(entry.details).length === 0 ? '' : displayText(JSON.stringify(entry.details))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={page?.next === null || page === null}
          onClick={() => {
            if (page?.next !== null && page !== null) setCursors([...cursors, page.next]);
          }}
        >
          Older
        </button>
      </div>
    </section>
  );
}
