import { useState, type ReactNode } from 'react';
import { ApiError, type ApiClient, type ConnectionReport, type DataSource, type DatasetHealth } from '../api-client.js';
import { describeState, formatAgo, formatDuration, formatIso } from '../format.js';
import { ConnectionTable } from './connection-table.js';

export interface SourceCardProps {
  readonly api: ApiClient;
  readonly source: DataSource;
  readonly canManage: boolean;
  readonly nowMs: number;
  readonly onRemoved: (name: string) => void;
}

/** One data source: its account, the token's last characters, each dataset's health, and its actions. */
export function SourceCard({ api, source, canManage, nowMs, onRemoved }: SourceCardProps): ReactNode {
  const [test, setTest] = useState<
    | { readonly state: 'idle' }
    | { readonly state: 'running' }
    | { readonly state: 'done'; readonly report: ConnectionReport }
    | { readonly state: 'failed'; readonly message: string }
  >({ state: 'idle' });
  const [confirming, setConfirming] = useState(false);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [removing, setRemoving] = useState(false);

  const runTest = (): void => {
    setTest({ state: 'running' });
    api.testSource(source.name).then(
      (report) => setTest({ state: 'done', report }),
      (failure: unknown) =>
        setTest({
          state: 'failed',
          message: failure instanceof ApiError ? failure.message : 'The connection test failed.',
        }),
    );
  };

  const remove = (): void => {
    setRemoving(true);
    setRemoveError(null);
    api.removeSource(source.name).then(
      () => onRemoved(source.name),
      (failure: unknown) => {
        setRemoving(false);
        setRemoveError(failure instanceof ApiError ? failure.message : 'Deleting the data source failed.');
      },
    );
  };

  const failing = source.datasets.filter(
    (row) => (row.state === 'failed' || row.state === 'retrying') && !isPermissionGap(row),
  ).length;
  const notPermitted = source.datasets.filter(isPermissionGap).length;
  return (
    <article className="card source" aria-label={`Data source ${source.name}`}>
      <header className="source-head">
        <div>
          <h2>{source.name}</h2>
          <p className="muted meta">
            <span>Cloudflare Zero Trust</span>
            <span>
              account <span className="mono">{source.accountId}</span>
            </span>
            <span>
              token <span className="mono">{source.tokenLast4 === null ? 'stored' : `••••${source.tokenLast4}`}</span>
            </span>
            <span>added {formatIso(source.createdAt)}</span>
          </p>
        </div>
        <div className="badges">
          <span className={`badge ${failing > 0 ? 'bad' : 'good'}`}>
            {failing > 0 ? `${failing} dataset${failing === 1 ? '' : 's'} failing` : 'Collecting'}
          </span>
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
            <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={confirming}>
              Delete
            </button>
          </div>
        ) : null}
      </header>

      {confirming ? (
        <div className="confirm" role="alertdialog" aria-label={`Delete ${source.name}?`}>
          <p>
            <strong>Delete the data source &quot;{source.name}&quot;?</strong> zerotrail stops collecting from this
            account and forgets its token and collection state. Events already stored stay searchable in Explore until
            retention removes them.
          </p>
          {removeError === null ? null : (
            <p className="error" role="alert">
              {removeError}
            </p>
          )}
          <div className="actions">
            <button type="button" className="danger" onClick={remove} disabled={removing}>
              {removing ? 'Deleting…' : 'Delete data source'}
            </button>
            <button type="button" className="quiet" onClick={() => setConfirming(false)} disabled={removing}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}

      {test.state === 'done' ? (
        <ConnectionTable report={test.report} caption={`Connection test of ${source.name}`} />
      ) : null}
      {test.state === 'failed' ? (
        <p className="error" role="alert">
          {test.message}
        </p>
      ) : null}

      <table className="grid health" aria-label={`Dataset health of ${source.name}`}>
        <thead>
          <tr>
            <th scope="col">Dataset</th>
            <th scope="col">State</th>
            <th scope="col">Last success</th>
            <th scope="col">Lag</th>
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
                <span className="mono">{row.dataset}</span>
                {row.kind === 'inventory' ? <span className="muted"> · inventory</span> : null}
                {row.required ? null : <span className="muted"> · optional</span>}
              </td>
              <td>
                {isPermissionGap(row) ? (
                  <span className="badge warn">Not permitted</span>
                ) : (
                  <span className={`badge ${stateClass(row.state)}`}>{describeState(row.state)}</span>
                )}
              </td>
              <td title={row.lastSuccessAt === null ? undefined : formatIso(row.lastSuccessAt)}>
                {row.lastSuccessAt === null ? '—' : formatAgo(row.lastSuccessAt, nowMs)}
              </td>
              <td>{row.lagSecs === null ? '—' : formatDuration(row.lagSecs)}</td>
              <td className="num">{row.kind === 'inventory' ? '—' : row.eventsLast24h.toLocaleString('en-US')}</td>
              <td className="wrap">
                {row.lastError === null
                  ? '—'
                  : `${row.lastErrorCode === null ? '' : `${row.lastErrorCode}: `}${row.lastError}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
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
