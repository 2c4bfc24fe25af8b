import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorText, exportUrl, type ApiClient, type EventRecord } from '../api-client.js';
import { describeRange, exploreSearch, readExploreState, type ExploreState } from '../explore-state.js';
import { displayText } from '../format.js';
import { addFilter } from '../query-edit.js';
import { cleanColumns, DEFAULT_COLUMNS, type ColumnId } from '../result-columns.js';
import { navigate } from '../router.js';
import { ColumnChooser } from './column-chooser.js';
import { EventPanel } from './event-panel.js';
import { HistogramChart } from './histogram.js';
import { QueryError } from './query-error.js';
import { QueryInput } from './query-input.js';
import { ResultsTable } from './results-table.js';
import { TimeRangePicker } from './time-range-picker.js';
import type { ValueActions } from './value-menu.js';

export interface ExplorePageProps {
  readonly api: ApiClient;
  /** The page URL's query string: the whole state of this page. */
  readonly search: string;
}

// A few screens of rows; the API pages by key, so each next page costs the same as the first.
const PAGE_SIZE = 100;
// Checking the query while typing waits for a pause, so a fast typist does not send a request per key.
const CHECK_DELAY_MS = 300;
// The columns chosen last in this browser, for links that do not name any.
const COLUMNS_KEY = 'zerotrail.explore.columns';

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

interface ProblemAt {
  readonly message: string;
  readonly column: number | null;
}

/**
 * Search stored events with the CLI's query language: counts over time, the matching events in a table that
 * loads more as it scrolls, and the open event. The query, range, open event and columns live in the URL.
 */
export function ExplorePage({ api, search }: ExplorePageProps): ReactNode {
  const state = readExploreState(search);
  const [draft, setDraft] = useState(state.q);
  const [results, setResults] = useState<Results>({ status: 'loading' });
  // Bumped by "Search" with an unchanged query, so it still fetches fresh results.
  const [run, setRun] = useState(0);
  const [draftCheck, setDraftCheck] = useState<{ readonly text: string; readonly problem: ProblemAt | null } | null>(
    null,
  );
  const [canExport, setCanExport] = useState(false);
  const [storedColumns, setStoredColumns] = useState<readonly ColumnId[] | null>(readStoredColumns);
  // Which search the rows belong to; a page that arrives after the search changed is dropped.
  const generation = useRef(0);

  const go = useCallback(
    (next: ExploreState, replace = false): void => navigate(`/explore${exploreSearch(next)}`, { replace }),
    [],
  );

  useEffect(() => setDraft(state.q), [state.q]);

  useEffect(() => {
    let current = true;
    api.currentUser().then(
      (user) => {
        if (current) setCanExport(user !== null && user.role !== 'viewer');
      },
      // Without knowing the role the buttons stay hidden; the server checks the role on export anyway.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [api]);

  useEffect(() => {
    if (draft.trim() === '' || draft === draftCheck?.text) return;
    let current = true;
    const timer = setTimeout(() => {
      api.checkQuery(draft).then(
        (check) => {
          if (!current) return;
          setDraftCheck({
            text: draft,
            problem: check.error === null ? null : { message: check.error.message, column: check.error.column },
          });
        },
        // The search itself reports a problem the check could not; nothing to show while typing.
        () => undefined,
      );
    }, CHECK_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, draft, draftCheck?.text]);

  useEffect(() => {
    let current = true;
    generation.current += 1;
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
        setResults({ status: 'error', error, message: errorText(failure, 'The search failed.') });
      },
    );
    return () => {
      current = false;
    };
  }, [api, state.q, state.from, state.to, run]);

  const latest = useRef(results);
  latest.current = results;
  const { q, from, to } = state;

  const loadMore = useCallback(
    (retry = false): void => {
      const now = latest.current;
      if (now.status !== 'ok' || now.nextPage === null || now.loadingMore) return;
      // After a failure, only "Try again" asks again; scrolling would otherwise repeat the failing request.
      if (now.moreError !== null && !retry) return;
      const after = now.nextPage;
      const mine = generation.current;
      const settle = (update: (previous: Extract<Results, { status: 'ok' }>) => Results): void =>
        setResults((previous) =>
          previous.status === 'ok' && generation.current === mine ? update(previous) : previous,
        );
      const loading = { ...now, loadingMore: true, moreError: null };
      // Another call before the next render must see this one under way, or it would fetch the same page again.
      latest.current = loading;
      setResults(loading);
      api.searchEvents({ q, from, to, limit: PAGE_SIZE, after }).then(
        (page) =>
          settle((previous) => ({
            ...previous,
            events: [...previous.events, ...page.events],
            nextPage: page.nextPage,
            loadingMore: false,
          })),
        (failure: unknown) =>
          settle((previous) => ({
            ...previous,
            loadingMore: false,
            moreError: errorText(failure, 'The next page could not be loaded.'),
          })),
      );
    },
    [api, q, from, to],
  );

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (draft === state.q) setRun((n) => n + 1);
    else go({ ...state, q: draft, event: null });
  };

  const columns = state.columns ?? storedColumns ?? DEFAULT_COLUMNS;
  // Beside the event panel the table keeps the columns an analyst scans; the panel shows the rest.
  const tableColumns =
    state.event === null ? columns : columns.filter((column) => column !== 'dataset' && column !== 'country');
  const chooseColumns = (next: readonly ColumnId[]): void => {
    try {
      window.localStorage.setItem(COLUMNS_KEY, next.join(','));
    } catch {
      // Storage may be full or switched off; the URL still carries the choice.
    }
    setStoredColumns(next);
    go({ ...state, columns: next }, true);
  };

  const actions: ValueActions = useMemo(
    () => ({
      range: { from, to },
      filter: (field, value, negate) =>
        go({ q: addFilter(q, field, value, negate), from, to, event: null, columns: state.columns }),
    }),
    [go, q, from, to, state.columns],
  );

  const open = (id: string): void => go({ ...state, event: id });
  const serverProblem: ProblemAt | null =
    results.status === 'error' && results.error !== null && results.error.code.startsWith('QUERY_')
      ? { message: results.error.message, column: columnOf(results.error.details) }
      : null;
  // While the text differs from the search shown, the check of the text speaks; otherwise the search does.
  const typedProblem = draftCheck !== null && draftCheck.text === draft ? draftCheck.problem : null;
  const barProblem = draft === state.q ? (serverProblem ?? typedProblem) : typedProblem;

  return (
    <div className={`explore${state.event === null ? '' : ' with-panel'}`}>
      <div className="explore-main">
        <form className="query-bar" onSubmit={submit} role="search">
          <QueryInput
            api={api}
            value={draft}
            onChange={setDraft}
            range={{ from: state.from, to: state.to }}
            error={barProblem}
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
        {barProblem === null ? null : (
          <QueryError query={draft} message={barProblem.message} column={barProblem.column} />
        )}

        <HistogramChart
          api={api}
          q={state.q}
          from={state.from}
          to={state.to}
          run={run}
          onZoom={(range) => go({ ...state, ...range, event: null })}
        />

        {results.status === 'loading' ? <p className="muted status-line">Searching…</p> : null}
        {results.status === 'error' && serverProblem === null ? (
          <p className="error status-line" role="alert">
            {displayText(results.message)}
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
            <div className="results-head">
              <p className="muted status-line" role="status">
                {results.events.length.toLocaleString('en-US')} event{results.events.length === 1 ? '' : 's'} loaded,
                newest first · {describeRange(state.from, state.to)}
                {results.nextPage === null ? ' · all matches shown' : ' · scroll for more'}
              </p>
              <div className="results-tools">
                {canExport ? (
                  <>
                    <a className="button" href={exportUrl(state, 'csv')} download="zerotrail-events.csv">
                      Export CSV
                    </a>
                    <a className="button" href={exportUrl(state, 'ndjson')} download="zerotrail-events.ndjson">
                      Export NDJSON
                    </a>
                  </>
                ) : null}
                <ColumnChooser columns={columns} onChange={chooseColumns} />
              </div>
            </div>
            <ResultsTable
              key={`${state.q}|${state.from}|${state.to}|${run}`}
              events={results.events}
              columns={tableColumns.length === 0 ? columns : tableColumns}
              selected={state.event}
              onOpen={open}
              onNearEnd={() => loadMore()}
              actions={actions}
              footer={
                results.moreError !== null ? (
                  <span className="error" role="alert">
                    {displayText(results.moreError)}{' '}
                    <button type="button" onClick={() => loadMore(true)}>
                      Try again
                    </button>
                  </span>
                ) : results.loadingMore ? (
                  <span className="muted">Loading more…</span>
                ) : results.nextPage === null ? (
                  <span className="muted">End of the matches.</span>
                ) : (
                  <span className="muted">More load as you scroll.</span>
                )
              }
            />
          </>
        ) : null}
      </div>
      {state.event === null ? null : (
        <EventPanel api={api} id={state.event} actions={actions} onClose={() => go({ ...state, event: null })} />
      )}
    </div>
  );
}

function columnOf(details: Readonly<Record<string, unknown>>): number | null {
  const column = details['column'];
  return typeof column === 'number' ? column : null;
}

function readStoredColumns(): readonly ColumnId[] | null {
  try {
    const stored = window.localStorage.getItem(COLUMNS_KEY);
    return stored === null ? null : cleanColumns(stored.split(','));
  } catch {
    // Storage switched off: the default columns.
    return null;
  }
}
