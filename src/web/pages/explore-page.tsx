import { useEffect, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type EventRecord } from '../api-client.js';
import { describeRange, exploreSearch, readExploreState, type ExploreState } from '../explore-state.js';
import { formatIso } from '../format.js';
import { navigate } from '../router.js';
import { EventPanel } from './event-panel.js';
import { QueryError } from './query-error.js';
import { TimeRangePicker } from './time-range-picker.js';

export interface ExplorePageProps {
  readonly api: ApiClient;
  /** The page URL's query string: the whole state of this page. */
  readonly search: string;
}

// One screen of rows and a bit; the API pages by key, so the next page costs the same as the first.
const PAGE_SIZE = 50;

const EXAMPLES = ['outcome:failure', 'user:alice@example.com', 'src_ip:192.0.2.0/24 AND NOT country:us', 'app:Wiki*'];

type Results =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly error: ApiError | null; readonly message: string }
  | {
      readonly status: 'ok';
      readonly events: readonly EventRecord[];
      readonly nextPage: string | null;
      readonly loadingMore: boolean;
      readonly moreError: string | null;
    };

/** Search stored events with the CLI's query language; the query, range and open event live in the URL. */
export function ExplorePage({ api, search }: ExplorePageProps): ReactNode {
  const state = readExploreState(search);
  const [draft, setDraft] = useState(state.q);
  const [results, setResults] = useState<Results>({ status: 'loading' });
  // Bumped by "Search" with an unchanged query, so it still fetches fresh results.
  const [run, setRun] = useState(0);

  const go = (next: ExploreState, replace = false): void => navigate(`/explore${exploreSearch(next)}`, { replace });

  useEffect(() => setDraft(state.q), [state.q]);

  useEffect(() => {
    let current = true;
    setResults({ status: 'loading' });
    api.searchEvents({ q: state.q, from: state.from, to: state.to, limit: PAGE_SIZE }).then(
      (page) => {
        if (current) {
          setResults({
            status: 'ok',
            events: page.events,
            nextPage: page.nextPage,
            loadingMore: false,
            moreError: null,
          });
        }
      },
      (failure: unknown) => {
        if (!current) return;
        const error = failure instanceof ApiError ? failure : null;
        setResults({ status: 'error', error, message: error?.message ?? 'The search failed.' });
      },
    );
    return () => {
      current = false;
    };
  }, [api, state.q, state.from, state.to, run]);

  const loadMore = (): void => {
    if (results.status !== 'ok' || results.nextPage === null) return;
    const after = results.nextPage;
    setResults({ ...results, loadingMore: true, moreError: null });
    api.searchEvents({ q: state.q, from: state.from, to: state.to, limit: PAGE_SIZE, after }).then(
      (page) =>
        setResults((previous) =>
          previous.status === 'ok'
            ? { ...previous, events: [...previous.events, ...page.events], nextPage: page.nextPage, loadingMore: false }
            : previous,
        ),
      (failure: unknown) =>
        setResults((previous) =>
          previous.status === 'ok'
            ? {
                ...previous,
                loadingMore: false,
                moreError: failure instanceof ApiError ? failure.message : 'The next page could not be loaded.',
              }
            : previous,
        ),
    );
  };

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (draft === state.q) setRun((n) => n + 1);
    else go({ ...state, q: draft, event: null });
  };

  const open = (id: string): void => go({ ...state, event: id });
  const queryError =
    results.status === 'error' && results.error !== null && results.error.code.startsWith('QUERY_')
      ? results.error
      : null;

  return (
    <div className={`explore${state.event === null ? '' : ' with-panel'}`}>
      <div className="explore-main">
        <form className="query-bar" onSubmit={submit} role="search">
          <input
            name="q"
            aria-label="Query"
            className="mono"
            placeholder="Search events, e.g. user:alice@example.com AND outcome:failure"
            spellCheck={false}
            autoComplete="off"
            value={draft}
            aria-invalid={queryError !== null}
            onChange={(event) => setDraft(event.target.value)}
          />
          <TimeRangePicker
            key={`${state.from}|${state.to}`}
            from={state.from}
            to={state.to}
            onChange={(range) => go({ ...state, ...range })}
          />
          <button type="submit" className="primary">
            Search
          </button>
        </form>
        {queryError === null ? null : <QueryError query={state.q} error={queryError} />}

        {results.status === 'loading' ? <p className="muted status-line">Searching…</p> : null}
        {results.status === 'error' && queryError === null ? (
          <p className="error status-line" role="alert">
            {results.message}
          </p>
        ) : null}
        {results.status === 'ok' && results.events.length === 0 ? (
          <div className="empty">
            <h2>No events match</h2>
            <p>
              Nothing matches {state.q === '' ? 'any query' : 'this query'} in{' '}
              {describeRange(state.from, state.to).toLowerCase()}. Widen the time range or change the query. A data
              source added a moment ago delivers its first events within a minute.
            </p>
            <p className="muted">
              Examples:{' '}
              {EXAMPLES.map((example) => (
                <button
                  key={example}
                  type="button"
                  className="chip mono"
                  onClick={() => go({ ...state, q: example, event: null })}
                >
                  {example}
                </button>
              ))}
            </p>
          </div>
        ) : null}
        {results.status === 'ok' && results.events.length > 0 ? (
          <>
            <p className="muted status-line" role="status">
              {results.events.length.toLocaleString('en-US')} event{results.events.length === 1 ? '' : 's'} shown,
              newest first · {describeRange(state.from, state.to)}
              {results.nextPage === null ? ' · all matches shown' : ''}
            </p>
            <div className="results">
              <table className="grid results-table" aria-label="Matching events">
                <thead>
                  <tr>
                    <th scope="col" className="col-time">
                      Time (UTC)
                    </th>
                    <th scope="col" className="col-outcome">
                      Outcome
                    </th>
                    <th scope="col">User</th>
                    <th scope="col" className="col-ip">
                      Source IP
                    </th>
                    <th scope="col">Application</th>
                    <th scope="col" className="col-dataset">
                      Dataset
                    </th>
                    <th scope="col" className="col-country">
                      Country
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {results.events.map((event) => (
                    <tr
                      key={event.id}
                      className={event.id === state.event ? 'selected' : undefined}
                      aria-selected={event.id === state.event}
                      tabIndex={0}
                      onClick={() => open(event.id)}
                      onKeyDown={(key: KeyboardEvent<HTMLTableRowElement>) => {
                        if (key.key === 'Enter') open(event.id);
                      }}
                    >
                      <td className="mono">{formatIso(event.time).replace(' UTC', '')}</td>
                      <td>
                        <span className={`badge ${outcomeClass(event.outcome)}`}>{event.outcome}</span>
                      </td>
                      <td title={event.user ?? undefined}>{event.user ?? '—'}</td>
                      <td className="mono" title={event.src_ip ?? undefined}>
                        {event.src_ip ?? '—'}
                      </td>
                      <td title={event.app ?? undefined}>{event.app ?? '—'}</td>
                      <td className="col-dataset">{event.dataset}</td>
                      <td className="col-country">{event.country?.toUpperCase() ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {results.moreError === null ? null : (
              <p className="error" role="alert">
                {results.moreError}
              </p>
            )}
            {results.nextPage === null ? null : (
              <div className="more">
                <button type="button" onClick={loadMore} disabled={results.loadingMore}>
                  {results.loadingMore ? 'Loading…' : `Load ${PAGE_SIZE} more`}
                </button>
              </div>
            )}
          </>
        ) : null}
      </div>
      {state.event === null ? null : (
        <EventPanel api={api} id={state.event} onClose={() => go({ ...state, event: null })} />
      )}
    </div>
  );
}

function outcomeClass(outcome: string): string {
  if (outcome === 'success') return 'good';
  if (outcome === 'failure') return 'bad';
  return 'idle';
}
