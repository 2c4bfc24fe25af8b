import { useCallback, useEffect, useState, type MouseEvent, type ReactNode } from 'react';
import { z } from 'zod';
import { errorText, eventSchema, type ApiClient } from '../api-client.js';
import { displayText, formatTime, MISSING } from '../format.js';
import { navigate, timelinePath, type TimelineKind } from '../router.js';
import { Messages } from './messages.js';
import { MissingValue } from './missing-value.js';

export interface TimelinePageProps {
  readonly api: ApiClient;
  readonly kind: TimelineKind;
  readonly value: string;
}

// A screen of events at a time; "Load more" fetches the next page with the API's page token.
const PAGE_SIZE = 100;

const KIND_LABELS: Readonly<Record<TimelineKind, string>> = {
  user: 'user',
  ip: 'IP address',
  app: 'application',
  device: 'device',
};

const countedSchema = z.array(z.object({ value: z.string(), count: z.number() }));

const timelineEventSchema = eventSchema.pick({
  id: true,
  time: true,
  dataset: true,
  activity: true,
  outcome: true,
  user: true,
  src_ip: true,
  country: true,
  app: true,
  app_uid: true,
  idp: true,
  ocsf: true,
});
type TimelineEvent = z.infer<typeof timelineEventSchema>;

const timelineSchema = z.object({
  device: z.object({ id: z.string(), name: z.string(), user: z.string().nullable() }).nullable(),
  // Null on later pages, which carry events only.
  summary: z
    .object({
      firstSeen: z.string().nullable(),
      lastSeen: z.string().nullable(),
      events: z.number(),
      allowed: z.number(),
      denied: z.number(),
      countries: countedSchema,
      idps: countedSchema,
      apps: countedSchema,
    })
    .nullable(),
  changes: z.array(timelineEventSchema).nullable(),
  events: z.array(timelineEventSchema),
  nextPage: z.string().nullable(),
});
type Timeline = z.infer<typeof timelineSchema>;

// Newest first unless the link says `order=asc`: "what happened lately" is the usual question, and a long
// timeline read oldest first takes a click per hundred events to reach today.
type EventOrder = 'asc' | 'desc';

const ORDER_LABELS: Readonly<Record<EventOrder, string>> = { desc: 'newest first', asc: 'oldest first' };

// The page is rendered again on every navigation (router.ts), so the query string is read where it is used.
function orderInUrl(): EventOrder {
  return new URLSearchParams(window.location.search).get('order') === 'asc' ? 'asc' : 'desc';
}

function fetchTimeline(
  api: ApiClient,
  kind: TimelineKind,
  value: string,
  order: EventOrder,
  after: string | null,
): Promise<Timeline> {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), order });
  if (after !== null) params.set('after', after);
  return api.request('GET', `/api${timelinePath(kind, value)}?${params.toString()}`, timelineSchema);
}

type State =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly message: string }
  | {
      readonly status: 'ok';
      readonly timeline: Timeline;
      readonly events: readonly TimelineEvent[];
      readonly more: string | null;
    };

/**
 * Everything one user, IP, application or device did, newest or oldest first, with a summary and the inventory changes
 * that touched it. Every value is React text; the only links are encoded paths to other timelines.
 */
export function TimelinePage({ api, kind, value }: TimelinePageProps): ReactNode {
  const [state, setState] = useState<State>({ status: 'loading' });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const order = orderInUrl();

  useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    setMoreError(null);
    fetchTimeline(api, kind, value, order, null).then(
      (timeline) => {
        if (current) setState({ status: 'ok', timeline, events: timeline.events, more: timeline.nextPage });
      },
      (failure: unknown) => {
        if (current) setState({ status: 'error', message: errorText(failure, 'The timeline could not be loaded.') });
      },
    );
    return () => {
      current = false;
    };
  }, [api, kind, value, order]);

  const loadMore = useCallback(() => {
    if (state.status !== 'ok' || state.more === null) return;
    setLoadingMore(true);
    setMoreError(null);
    fetchTimeline(api, kind, value, order, state.more).then(
      (next) => {
        setLoadingMore(false);
        setState({ ...state, events: [...state.events, ...next.events], more: next.nextPage });
      },
      (failure: unknown) => {
        setLoadingMore(false);
        setMoreError(errorText(failure, 'More events could not be loaded.'));
      },
    );
  }, [api, kind, value, order, state]);

  return (
    <div className="page timeline-page">
      <header>
        <h1>
          Timeline of {KIND_LABELS[kind]} <span className="mono">{displayText(value)}</span>
        </h1>
      </header>
      {state.status === 'loading' ? <p className="muted status-line">Loading the timeline…</p> : null}
      {state.status === 'error' ? (
        <p className="error status-line" role="alert">
          {displayText(state.message)}
        </p>
      ) : null}
      {state.status === 'ok' ? (
        <>
          {kind === 'device' ? <DeviceNote device={state.timeline.device} /> : null}
          {state.timeline.summary === null ? null : <Summary summary={state.timeline.summary} />}
          <Changes changes={state.timeline.changes ?? []} />
          <section aria-label="Events">
            <div className="page-head">
              <h2>Events, {ORDER_LABELS[order]}</h2>
              <label className="inline">
                Order
                <select
                  value={order}
                  onChange={(event) => {
                    const next: EventOrder = event.target.value === 'asc' ? 'asc' : 'desc';
                    navigate(`${timelinePath(kind, value)}${next === 'asc' ? '?order=asc' : ''}`);
                  }}
                >
                  <option value="desc">Newest first</option>
                  <option value="asc">Oldest first</option>
                </select>
              </label>
            </div>
            {state.events.length === 0 ? (
              <p className="muted">No events are stored for this {KIND_LABELS[kind]}.</p>
            ) : (
              <div className="table-scroll">
                <table className="grid timeline-events" aria-label="Timeline events">
                  <thead>
                    <tr>
                      <th scope="col">Time (UTC)</th>
                      <th scope="col">Outcome</th>
                      <th scope="col">Activity</th>
                      <th scope="col">User</th>
                      <th scope="col">Source IP</th>
                      <th scope="col">Country</th>
                      <th scope="col">Application</th>
                      <th scope="col">Dataset</th>
                    </tr>
                  </thead>
                  <tbody>
                    {state.events.map((event) => (
                      <tr key={event.id}>
                        <td className="mono time">{formatTime(event.time, { zone: false })}</td>
                        <td>{displayText(event.outcome)}</td>
                        <td>{displayText(event.activity)}</td>
                        <td>
                          <Pivot kind="user" value={event.user} />
                        </td>
                        <td className="mono">
                          <Pivot kind="ip" value={event.src_ip} />
                        </td>
                        <td>{event.country === null ? <MissingValue /> : displayText(event.country.toUpperCase())}</td>
                        <td>
                          <Pivot kind="app" value={event.app_uid ?? event.app} label={event.app} />
                        </td>
                        <td>{displayText(event.dataset)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <Messages error={moreError} />
            {state.more === null ? null : (
              <div className="more">
                <button type="button" onClick={loadMore} disabled={loadingMore}>
                  {loadingMore ? 'Loading…' : `Load ${PAGE_SIZE} more`}
                </button>
              </div>
            )}
          </section>
        </>
      ) : null}
    </div>
  );
}

type TimelineSummary = NonNullable<Timeline['summary']>;

function Summary({ summary }: { readonly summary: TimelineSummary }): ReactNode {
  const list = (items: TimelineSummary['countries'], upper = false): string =>
    items.length === 0
      ? MISSING
      : items.map((item) => `${displayText(upper ? item.value.toUpperCase() : item.value)} (${item.count})`).join(', ');
  return (
    <section aria-label="Summary">
      <h2>Summary</h2>
      <dl className="fields">
        <div>
          <dt>First seen</dt>
          <dd>{summary.firstSeen === null ? MISSING : formatTime(summary.firstSeen)}</dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>{summary.lastSeen === null ? MISSING : formatTime(summary.lastSeen)}</dd>
        </div>
        <div>
          <dt>Events</dt>
          <dd>{summary.events}</dd>
        </div>
        <div>
          <dt>Allowed</dt>
          <dd>{summary.allowed}</dd>
        </div>
        <div>
          <dt>Denied</dt>
          <dd>{summary.denied}</dd>
        </div>
        <div>
          <dt>Countries</dt>
          <dd>{list(summary.countries, true)}</dd>
        </div>
        <div>
          <dt>Identity providers</dt>
          <dd>{list(summary.idps)}</dd>
        </div>
        <div>
          <dt>Applications</dt>
          <dd>{list(summary.apps)}</dd>
        </div>
      </dl>
    </section>
  );
}

function Changes({ changes }: { readonly changes: readonly TimelineEvent[] }): ReactNode {
  return (
    <section aria-label="Changes">
      <h2>Changes to it</h2>
      {changes.length === 0 ? (
        <p className="muted">No inventory change touched it.</p>
      ) : (
        <ul>
          {changes.map((change) => (
            <li key={change.id}>
              <span className="mono">{formatTime(change.time)}</span> {displayText(messageText(change))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function DeviceNote({ device }: { readonly device: Timeline['device'] }): ReactNode {
  if (device === null) return <p className="muted">No device in the inventory has this name or id.</p>;
  return (
    <p className="muted">
      Device <span className="mono">{displayText(device.name)}</span>. Access events do not name devices, so the events
      below are those of its user{device.user === null ? ', who is not known' : ' '}
      {device.user === null ? null : <Pivot kind="user" value={device.user} />}.
    </p>
  );
}

/** A value that opens its own timeline; the href is an encoded path on our origin, the text is React text. */
function Pivot({
  kind,
  value,
  label,
}: {
  readonly kind: TimelineKind;
  readonly value: string | null;
  readonly label?: string | null;
}): ReactNode {
  if (value === null || value === '') return <MissingValue />;
  const href = timelinePath(kind, value);
  return (
    <a
      href={href}
      title={displayText(label ?? value)}
      onClick={(event: MouseEvent<HTMLAnchorElement>) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {displayText(label ?? value)}
    </a>
  );
}

function messageText(change: TimelineEvent): string {
  const message = change.ocsf['message'];
  return typeof message === 'string' ? message : `${change.activity} in ${change.dataset}`;
}
