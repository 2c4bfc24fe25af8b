import { useState, type FormEvent, type ReactNode } from 'react';
import {
  ApiError,
  datasetChecksIn,
  type ApiClient,
  type ConnectionReport,
  type DataSource,
  type DatasetCheck,
  type DatasetHealth,
} from '../api-client.js';
import { describeState, displayText, formatAgo, formatDuration, formatTime, MISSING } from '../format.js';
import { ConnectionTable } from './connection-table.js';
import { Messages } from './messages.js';

export interface SourceCardProps {
  readonly api: ApiClient;
  readonly source: DataSource;
  readonly canManage: boolean;
  /** Whether any collector is alive; without one, a healthy source is not being collected either. */
  readonly collecting: boolean;
  readonly nowMs: number;
  readonly onRemoved: (name: string) => void;
  /** The source changed (paused, resumed, edited): the page reloads the list. */
  readonly onChanged: () => void;
}

type Panel = 'none' | 'confirm-delete' | 'edit';

const ACCOUNT_ID = /^[0-9a-fA-F]{32}$/;

function messageOf(failure: unknown, fallback: string): string {
  return failure instanceof ApiError ? failure.message : fallback;
}

/** One data source: its account, the token's last characters, each dataset's health, and its actions. */
export function SourceCard({
  api,
  source,
  canManage,
  collecting,
  nowMs,
  onRemoved,
  onChanged,
}: SourceCardProps): ReactNode {
  const [test, setTest] = useState<
    | { readonly state: 'idle' }
    | { readonly state: 'running' }
    | { readonly state: 'done'; readonly report: ConnectionReport }
    | { readonly state: 'failed'; readonly message: string }
  >({ state: 'idle' });
  const [panel, setPanel] = useState<Panel>('none');
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [removing, setRemoving] = useState(false);
  const [pausing, setPausing] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const runTest = (): void => {
    setTest({ state: 'running' });
    api.testSource(source.name).then(
      (report) => setTest({ state: 'done', report }),
      (failure: unknown) => setTest({ state: 'failed', message: messageOf(failure, 'The connection test failed.') }),
    );
  };

  const remove = (): void => {
    setRemoving(true);
    setRemoveError(null);
    api.removeSource(source.name).then(
      () => onRemoved(source.name),
      (failure: unknown) => {
        setRemoving(false);
        setRemoveError(messageOf(failure, 'Deleting the data source failed.'));
      },
    );
  };

  const setPaused = (paused: boolean): void => {
    setPausing(true);
    setActionError(null);
    setNotice(null);
    api
      .setSourcePaused(source.name, paused)
      .then(
        () => {
          setNotice(
            paused
              ? 'Collection is paused. Its position is kept; resuming continues where it stopped.'
              : 'Collection resumed; it catches up from where it stopped.',
          );
          onChanged();
        },
        (failure: unknown) => setActionError(messageOf(failure, paused ? 'Pausing failed.' : 'Resuming failed.')),
      )
      .finally(() => setPausing(false));
  };

  const failing = source.datasets.filter(
    (row) => (row.state === 'failed' || row.state === 'retrying') && !isPermissionGap(row),
  ).length;
  const notPermitted = source.datasets.filter(isPermissionGap).length;
  return (
    <article className="card source" aria-label={`Data source ${source.name}`}>
      <header className="source-head">
        <div>
          <h2>{displayText(source.name)}</h2>
          <p className="muted meta">
            <span>Cloudflare Zero Trust</span>
            <span>
              account <span className="mono">{displayText(source.accountId)}</span>
            </span>
            <span>
              token{' '}
              <span className="mono">
                {source.tokenLast4 === null ? 'stored' : `••••${displayText(source.tokenLast4)}`}
              </span>
            </span>
            <span>added {formatTime(source.createdAt)}</span>
          </p>
        </div>
        <div className="badges">
          {source.paused ? (
            <span className="badge paused">Paused</span>
          ) : (
            <span className={`badge ${failing > 0 ? 'bad' : collecting ? 'good' : 'warn'}`}>
              {failing > 0
                ? `${failing} dataset${failing === 1 ? '' : 's'} failing`
                : collecting
                  ? 'Collecting'
                  : 'Not collecting: no collector runs'}
            </span>
          )}
          {notPermitted === 0 ? null : (
            <span className="badge warn">
              {notPermitted} optional dataset{notPermitted === 1 ? '' : 's'} not permitted
            </span>
          )}
        </div>
        {canManage ? (
          <div className="actions">
            <button type="button" onClick={runTest} disabled={test.state === 'running'}>
              {test.state === 'running' ? 'Testing…' : 'Test connection'}
            </button>
            {source.paused ? (
              <button type="button" onClick={() => setPaused(false)} disabled={pausing}>
                {pausing ? 'Resuming…' : 'Resume'}
              </button>
            ) : (
              <button type="button" onClick={() => setPaused(true)} disabled={pausing}>
                {pausing ? 'Pausing…' : 'Pause'}
              </button>
            )}
            <button type="button" onClick={() => setPanel('edit')} disabled={panel === 'edit'}>
              Edit
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => setPanel('confirm-delete')}
              disabled={panel === 'confirm-delete'}
            >
              Delete
            </button>
          </div>
        ) : null}
      </header>

      {source.paused ? (
        <p className="paused-note" role="status">
          Collection is paused
          {source.pausedBy === null ? '' : ` by ${displayText(source.pausedBy)}`}
          {source.pausedAt === null ? '' : ` since ${formatTime(source.pausedAt)}`}. Stored events stay searchable; the
          lag grows until it is resumed.
        </p>
      ) : null}
      <Messages error={actionError} notice={notice} />

      {panel === 'confirm-delete' ? (
        <div className="confirm" role="alertdialog" aria-label={`Delete ${source.name}?`}>
          <p>
            <strong>Delete the data source &quot;{displayText(source.name)}&quot;?</strong> zerotrail stops collecting
            from this account and forgets its token and collection state. Events already stored stay searchable in
            Explore until retention removes them.
          </p>
          <Messages error={removeError} />
          <div className="actions">
            <button type="button" className="danger" onClick={remove} disabled={removing}>
              {removing ? 'Deleting…' : 'Delete data source'}
            </button>
            <button type="button" className="quiet" onClick={() => setPanel('none')} disabled={removing}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}

      {panel === 'edit' ? (
        <EditSourceForm
          api={api}
          source={source}
          onClose={() => setPanel('none')}
          onSaved={(message) => {
            setPanel('none');
            setNotice(message);
            onChanged();
          }}
        />
      ) : null}

      {test.state === 'done' ? (
        <ConnectionTable report={test.report} caption={`Connection test of ${source.name}`} />
      ) : null}
      {test.state === 'failed' ? <Messages error={test.message} /> : null}

      <div className="table-scroll">
        <table className="grid health" aria-label={`Dataset health of ${source.name}`}>
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">State</th>
              <th scope="col">Last success</th>
              <th scope="col">Lag</th>
              <th scope="col" className="rate">
                Events, last hour
              </th>
              <th scope="col" className="rate">
                Per hour, 24 h avg
              </th>
              <th scope="col" className="num">
                Events, 24 h
              </th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {source.datasets.map((row) => (
              <tr key={row.dataset}>
                <td>
                  <span className="mono">{displayText(row.dataset)}</span>
                  {row.kind === 'inventory' ? <span className="muted"> · inventory</span> : null}
                  {row.required ? null : <span className="muted"> · optional</span>}
                </td>
                <td>
                  {isPermissionGap(row) ? (
                    <span className="badge warn">Not permitted</span>
                  ) : source.paused ? (
                    <span className="badge paused">Paused</span>
                  ) : (
                    <span className={`badge ${stateClass(row.state)}`}>{describeState(row.state)}</span>
                  )}
                </td>
                <td title={row.lastSuccessAt === null ? undefined : formatTime(row.lastSuccessAt)}>
                  {row.lastSuccessAt === null ? MISSING : formatAgo(row.lastSuccessAt, nowMs)}
                </td>
                <td>{row.lagSecs === null ? MISSING : formatDuration(row.lagSecs)}</td>
                <td className="rate">
                  {row.kind === 'inventory' ? MISSING : row.eventsLastHour.toLocaleString('en-US')}
                </td>
                <td className="rate">{row.kind === 'inventory' ? MISSING : perHour(row.eventsLast24h)}</td>
                <td className="num">
                  {row.kind === 'inventory' ? MISSING : row.eventsLast24h.toLocaleString('en-US')}
                </td>
                <td className="wrap">
                  {row.lastError === null
                    ? MISSING
                    : displayText(`${row.lastErrorCode === null ? '' : `${row.lastErrorCode}: `}${row.lastError}`)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </article>
  );
}

interface EditSourceFormProps {
  readonly api: ApiClient;
  readonly source: DataSource;
  readonly onClose: () => void;
  readonly onSaved: (message: string) => void;
}

/**
 * Replaces the token and/or the Account ID. The token field is write-only: it starts empty, the current token is
 * named by its last characters only, and the server verifies a new value before it keeps it.
 */
function EditSourceForm({ api, source, onClose, onSaved }: EditSourceFormProps): ReactNode {
  const [apiToken, setApiToken] = useState('');
  const [accountId, setAccountId] = useState(source.accountId);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [rows, setRows] = useState<readonly DatasetCheck[] | null>(null);

  const save = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const token = apiToken.trim();
    const account = accountId.trim().toLowerCase();
    if (!ACCOUNT_ID.test(account)) {
      setProblem('The Account ID is the 32-character hexadecimal id in your dashboard URL.');
      return;
    }
    if (token === '' && account === source.accountId) {
      setProblem('Paste a new API token or change the Account ID; nothing else can be edited.');
      return;
    }
    setBusy(true);
    setProblem(null);
    setRows(null);
    api
      .editSource(source.name, {
        ...(token === '' ? {} : { apiToken: token }),
        ...(account === source.accountId ? {} : { accountId: account }),
      })
      .then(
        (saved) => {
          // The token leaves the page's memory as soon as the server has it.
          setApiToken('');
          const parts = [
            token === '' ? null : `token replaced (it ends in ••••${saved.source?.tokenLast4 ?? '????'})`,
            account === source.accountId ? null : 'Account ID changed; collection starts again for the new account',
          ].filter((part): part is string => part !== null);
          onSaved(`Saved "${source.name}": ${parts.join('; ')}.`);
        },
        (failure: unknown) => {
          setBusy(false);
          setProblem(messageOf(failure, 'The change could not be saved.'));
          if (failure instanceof ApiError) setRows(datasetChecksIn(failure.details));
        },
      );
  };

  return (
    <form className="edit-source" aria-label={`Edit ${source.name}`} onSubmit={save} noValidate>
      <p className="muted">
        The name stays &quot;{displayText(source.name)}&quot;: stored events carry it. A new token or Account ID is
        tested before it is saved.
      </p>
      <label>
        New API token
        <input
          name="newApiToken"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={apiToken}
          placeholder={
            source.tokenLast4 === null ? 'keep the stored token' : `keep ••••${displayText(source.tokenLast4)}`
          }
          onChange={(event) => setApiToken(event.target.value)}
        />
        <span className="help">The stored token is never shown. Leave this empty to keep it.</span>
      </label>
      <label>
        Account ID
        <input
          name="accountId"
          className="mono"
          autoComplete="off"
          spellCheck={false}
          value={accountId}
          onChange={(event) => setAccountId(event.target.value)}
        />
        <span className="help">Another account starts collection afresh; events already stored stay.</span>
      </label>
      <Messages error={problem} />
      {rows === null ? null : (
        <ConnectionTable report={{ datasets: rows }} caption="Connection test of the new values" />
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Verifying…' : 'Verify and save'}
        </button>
        <button type="button" className="quiet" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The 24-hour average per hour, to one decimal below 10 so a quiet dataset does not read as zero. */
function perHour(eventsLast24h: number): string {
  const rate = eventsLast24h / 24;
  if (rate === 0) return '0';
  return rate < 10 ? rate.toFixed(1) : Math.round(rate).toLocaleString('en-US');
}

/**
 * An optional dataset the token may not read is a choice the admin made (or can fix), not an outage: it is
 * shown apart from failures, with the permission to add in its message.
 */
function isPermissionGap(row: DatasetHealth): boolean {
  return !row.required && row.lastErrorCode === 'SOURCE_PERMISSION_DENIED';
}

function stateClass(state: string): string {
  if (state === 'ok') return 'good';
  if (state === 'failed') return 'bad';
  if (state === 'retrying') return 'warn';
  return 'idle';
}
