import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';
import { errorText, type ApiClient, type Dashboard, type DashboardCount } from '../api-client.js';
import { displayText, formatTime } from '../format.js';
import { navigate } from '../router.js';
import { formatCount, TimeChart, TopChart } from './dashboard-charts.js';
import {
  dashboardPath,
  explorePath,
  readDashboardView,
  type DashboardView,
  type DrillField,
  type DrillOutcome,
} from './dashboard-links.js';
import { WorldMap } from './dashboard-map.js';
import { Messages } from './messages.js';
import { TimeRangePicker } from './time-range-picker.js';

export interface DashboardPageProps {
  readonly api: ApiClient;
  /** The page URL's query string: the period and the source. */
  readonly search: string;
}

type State =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly message: string }
  | { readonly status: 'ok'; readonly dashboard: Dashboard };

const ALL_SOURCES = '';

/**
 * The shape of a period at a glance: authentications over time, the top users, applications, countries and
 * IdPs, denials, a world map and what is new. Every bar, country and name opens the matching events in Explore.
 */
export function DashboardPage({ api, search }: DashboardPageProps): ReactNode {
  const view = readDashboardView(search);
  const [state, setState] = useState<State>({ status: 'loading' });
  const [sources, setSources] = useState<readonly string[]>([]);

  useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    api.dashboard(view).then(
      (dashboard) => {
        if (current) setState({ status: 'ok', dashboard });
      },
      (error: unknown) => {
        if (!current) return;
        setState({
          status: 'error',
          message: errorText(error, 'The dashboard could not be loaded.'),
        });
      },
    );
    return () => {
      current = false;
    };
    // The view is rebuilt from `search` on every render; its fields, not its identity, decide a reload.
  }, [api, view.from, view.to, view.source]);

  useEffect(() => {
    api.listSources().then(
      (list) => setSources(list.map((source) => source.name)),
      // The source list only narrows the dashboard; without it the page still shows every source.
      () => setSources([]),
    );
  }, [api]);

  const change = (next: Partial<DashboardView>): void => navigate(dashboardPath({ ...view, ...next }));
  const drill = (
    filters: readonly (readonly [DrillField, string])[],
    range?: { readonly from: string; readonly to: string },
  ): void => navigate(explorePath(view, filters, range));
  const withOutcome = (
    filters: readonly (readonly [DrillField, string])[],
    outcome: DrillOutcome | null,
  ): (readonly [DrillField, string])[] => (outcome === null ? [...filters] : [...filters, ['outcome', outcome]]);

  return (
    <div className="page dashboard">
      <div className="page-head">
        <h1>Dashboard</h1>
        <div className="dashboard-controls">
          {/* Keyed by the range, as in Explore: Back to a custom range starts the picker afresh from the URL, with
              its From and To showing, instead of keeping the state of the range left behind. */}
          <TimeRangePicker
            key={`${view.from}|${view.to}`}
            from={view.from}
            to={view.to}
            onChange={(range) => change(range)}
          />
          <label className="inline">
            Source
            <select
              aria-label="Source"
              value={view.source ?? ALL_SOURCES}
              onChange={(event) => change({ source: event.target.value === ALL_SOURCES ? null : event.target.value })}
            >
              <option value={ALL_SOURCES}>All sources</option>
              {[...new Set([...sources, ...(view.source === null ? [] : [view.source])])].map((name) => (
                <option key={name} value={name}>
                  {displayText(name)}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {state.status === 'loading' ? (
        <p className="muted" role="status">
          Loading the dashboard…
        </p>
      ) : state.status === 'error' ? (
        <Messages error={state.message} />
      ) : (
        <DashboardBody dashboard={state.dashboard} view={view} drill={drill} withOutcome={withOutcome} />
      )}
    </div>
  );
}

interface BodyProps {
  readonly dashboard: Dashboard;
  readonly view: DashboardView;
  readonly drill: (
    filters: readonly (readonly [DrillField, string])[],
    range?: { readonly from: string; readonly to: string },
  ) => void;
  readonly withOutcome: (
    filters: readonly (readonly [DrillField, string])[],
    outcome: DrillOutcome | null,
  ) => (readonly [DrillField, string])[];
}

/** One top list of the dashboard: where its counts come from and the field a click on a bar filters by. */
interface TopList {
  readonly title: string;
  readonly counts: (dashboard: Dashboard) => readonly DashboardCount[];
  readonly field: DrillField;
  /** Allowed and denied bars, or denied ones only (a click then opens the denied events alone). */
  readonly show: 'both' | 'denied';
  readonly empty: string;
  readonly note?: string;
}

const TOP_LISTS: readonly TopList[] = [
  { title: 'Top users', counts: (d) => d.users, field: 'user', show: 'both', empty: 'No user names in this period.' },
  {
    title: 'Top applications',
    counts: (d) => d.apps,
    field: 'app',
    show: 'both',
    empty: 'No applications in this period.',
  },
  {
    title: 'Top countries',
    counts: (d) => d.countries.slice(0, 10),
    field: 'country',
    show: 'both',
    empty: 'No countries in this period.',
  },
  {
    title: 'Top identity providers',
    counts: (d) => d.idps,
    field: 'idp',
    show: 'both',
    empty: 'No identity providers in this period.',
  },
  {
    title: 'Denied logins by what was attempted',
    counts: (d) => d.denied,
    field: 'activity',
    show: 'denied',
    empty: 'No denied logins in this period.',
    note: "Cloudflare's Access log records no reason for a denial, only what was denied.",
  },
];

const NEW_VALUE_LISTS: readonly {
  readonly title: string;
  readonly field: DrillField;
  readonly values: (dashboard: Dashboard) => Dashboard['newUsers'];
}[] = [
  { title: 'Users', field: 'user', values: (d) => d.newUsers },
  { title: 'Applications', field: 'app', values: (d) => d.newApps },
  { title: 'Countries', field: 'country', values: (d) => d.newCountries },
];

function DashboardBody({ dashboard, view, drill, withOutcome }: BodyProps): ReactNode {
  const { totals } = dashboard;
  if (totals.total === 0 && dashboard.newUsers.count === 0) {
    return (
      <p className="muted dashboard-empty" role="status">
        No authentications in this period{view.source === null ? '' : ` from ${displayText(view.source)}`}. Pick a
        longer time range, or check on the Data sources page that collection is running.
      </p>
    );
  }
  return (
    <>
      <section className="dashboard-tiles" aria-label="Totals">
        <Tile label="Authentications" value={totals.total} href={explorePath(view, [])} />
        <Tile label="Allowed" value={totals.allowed} href={explorePath(view, [['outcome', 'success']])} />
        <Tile label="Denied" value={totals.denied} href={explorePath(view, [['outcome', 'failure']])} tone="bad" />
        <Tile label="New users" value={dashboard.newUsers.count} />
        <Tile label="New applications" value={dashboard.newApps.count} />
        <Tile label="New countries" value={dashboard.newCountries.count} />
      </section>

      <section className="panel dashboard-wide" aria-label="Authentications over time">
        <h2>Authentications over time</h2>
        <TimeChart
          series={dashboard.series}
          bucketMs={dashboard.bucketMs}
          onSelect={(bucket, outcome) => {
            const from = Math.max(bucket.startMs, dashboard.fromMs);
            const to = Math.min(bucket.startMs + dashboard.bucketMs, dashboard.toMs);
            drill([['outcome', outcome]], { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
          }}
        />
        <p className="muted legend">
          <span className="swatch allowed" /> Allowed <span className="swatch denied" /> Denied{' '}
          <span className="swatch other" /> No result · each bar is {describeWidth(dashboard.bucketMs)} (UTC)
        </p>
      </section>

      <div className="dashboard-grid">
        {TOP_LISTS.map((list) => (
          <TopPanel key={list.title} title={list.title}>
            <TopChart
              title={list.title}
              counts={list.counts(dashboard)}
              show={list.show}
              empty={list.empty}
              onSelect={(count, outcome) => drill(withOutcome([[list.field, count.key]], outcome))}
            />
            {list.note === undefined ? null : <p className="muted">{list.note}</p>}
          </TopPanel>
        ))}
        <TopPanel title="New in this period">
          {NEW_VALUE_LISTS.map((list) => (
            <NewValues
              key={list.field}
              title={list.title}
              field={list.field}
              values={list.values(dashboard)}
              view={view}
            />
          ))}
        </TopPanel>
      </div>

      <section className="panel dashboard-wide" aria-label="Authentications by country">
        <h2>Authentications by country</h2>
        <WorldMap countries={dashboard.countries} onSelect={(count) => drill([['country', count.key]])} />
      </section>
    </>
  );
}

function describeWidth(bucketMs: number): string {
  const minutes = bucketMs / 60_000;
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = minutes / 60;
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'}`;
  const days = hours / 24;
  return `${days} day${days === 1 ? '' : 's'}`;
}

function followLink(href: string) {
  return (event: MouseEvent<HTMLAnchorElement>): void => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(href);
  };
}

function Tile({
  label,
  value,
  href,
  tone,
}: {
  readonly label: string;
  readonly value: number;
  readonly href?: string;
  readonly tone?: 'bad';
}): ReactNode {
  const body = (
    <>
      <span className="tile-value">{formatCount(value)}</span>
      <span className="tile-label">{label}</span>
    </>
  );
  const className = `tile${tone === 'bad' ? ' bad' : ''}`;
  return href === undefined ? (
    <div className={className} data-tile={label}>
      {body}
    </div>
  ) : (
    <a className={className} data-tile={label} href={href} onClick={followLink(href)}>
      {body}
    </a>
  );
}

function TopPanel({ title, children }: { readonly title: string; readonly children: ReactNode }): ReactNode {
  return (
    <section className="panel" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function NewValues({
  title,
  field,
  values,
  view,
}: {
  readonly title: string;
  readonly field: DrillField;
  readonly values: Dashboard['newUsers'];
  readonly view: DashboardView;
}): ReactNode {
  return (
    <div className="new-values">
      <h3>
        {title} <span className="muted">{formatCount(values.count)}</span>
      </h3>
      {values.count === 0 ? (
        <p className="muted">None first seen in this period.</p>
      ) : (
        <ul>
          {values.first.map((value) => {
            const href = explorePath(view, [[field, value.key]]);
            return (
              <li key={value.key}>
                <a href={href} onClick={followLink(href)}>
                  {displayText(value.key)}
                </a>{' '}
                <span className="muted">{formatTime(value.firstSeenMs, { zone: false })}</span>
              </li>
            );
          })}
          {values.count > values.first.length ? (
            <li className="muted">and {formatCount(values.count - values.first.length)} more</li>
          ) : null}
        </ul>
      )}
    </div>
  );
}
