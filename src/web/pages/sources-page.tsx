import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { ApiError, type ApiClient, type DataSource, type SignedInUser } from '../api-client.js';
import { AddSourceForm } from './add-source-form.js';
import { SourceCard } from './source-card.js';
import { Messages } from './messages.js';

export interface SourcesPageProps {
  readonly api: ApiClient;
  readonly user: SignedInUser;
}

// Health changes with every collection run (30 s by default); this keeps the page close to it without load.
const REFRESH_MS = 5_000;

/** Data sources and the health of each dataset; admins add, test, pause, edit and delete them here. */
export function SourcesPage({ api, user }: SourcesPageProps): ReactNode {
  const [sources, setSources] = useState<readonly DataSource[] | null>(null);
  const [collectors, setCollectors] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [nowMs, setNowMs] = useState(() => Date.now());
  const canManage = user.role === 'admin';

  const load = useCallback(() => {
    api.sourcesOverview().then(
      (overview) => {
        setSources(overview.sources);
        setCollectors(overview.collectors);
        setError(null);
        setNowMs(Date.now());
      },
      (failure: unknown) =>
        setError(failure instanceof ApiError ? failure.message : 'The data sources could not be loaded.'),
    );
  }, [api]);

  useEffect(() => {
    load();
    const timer = window.setInterval(load, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Data sources</h1>
        {canManage && !adding ? (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add data source
          </button>
        ) : null}
      </div>
      <Messages notice={notice} />
      {collectors === 0 && sources !== null && sources.length > 0 ? (
        <div className="card" role="status">
          <h2>Nothing is collecting</h2>
          <p>
            No collector is running: this server serves stored data only (it was started with --no-collect or --role
            api) and no collector node is alive. Start one with <code>zerotrail collect</code> or{' '}
            <code>zerotrail serve</code> without --no-collect.
          </p>
        </div>
      ) : null}
      {adding ? (
        <AddSourceForm
          api={api}
          collecting={collectors !== 0}
          onAdded={(name) => {
            setNotice(`Data source "${name}" added.`);
            load();
          }}
          onCancel={() => setAdding(false)}
        />
      ) : null}
      <Messages error={error} />
      {sources === null && error === null ? <p className="muted">Loading data sources…</p> : null}
      {sources !== null && sources.length === 0 && !adding ? (
        <div className="empty card">
          <h2>No data sources yet</h2>
          <p>
            {canManage
              ? 'Add your Cloudflare Zero Trust account to start collecting its logs.'
              : 'An administrator has to add a Cloudflare Zero Trust account before there is anything to see.'}
          </p>
        </div>
      ) : null}
      {sources?.map((source) => (
        <SourceCard
          key={source.name}
          api={api}
          source={source}
          canManage={canManage}
          collecting={collectors !== 0}
          nowMs={nowMs}
          onRemoved={(name) => {
            setNotice(`Data source "${name}" deleted. Its stored events stay searchable in Explore until retention.`);
            load();
          }}
          onChanged={load}
        />
      ))}
    </div>
  );
}
