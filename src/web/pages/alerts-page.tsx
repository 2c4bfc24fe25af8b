import { useCallback, useEffect, useMemo, useState, type FormEvent, type MouseEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type SignedInUser } from '../api-client.js';
import { displayNote, displayText, formatTime, MISSING } from '../format.js';
import { navigate } from '../router.js';
import {
  ALERT_STATUSES,
  ALERTS_PAGE_SIZE,
  AlertsClient,
  CLOSE_REASONS,
  SEVERITIES,
  type Alert,
  type AlertDetail,
  type AlertFilter,
  type AlertPage,
  type CloseReason,
  type Evidence,
  type Rule,
} from './alerts-client.js';
import { Messages } from './messages.js';
import { NotifyStatus } from './notify-status.js';

export interface AlertsPageProps {
  readonly api: ApiClient;
  readonly user: SignedInUser;
  readonly search: string;
}

// The evidence ids go into the Explore query, URL-encoded, and the query into the URL of every search request:
// this keeps it under the API's 10,000-character query and well inside Node's 16 KiB limit on request headers
// (about 200 event ids). Evidence beyond it is left out, and the link says so.
const MAX_EVIDENCE_QUERY_ENCODED_CHARS = 9_000;
const TECHNIQUE = /^T(\d{4})(?:\.(\d{3}))?$/;

const CLOSE_REASON_LABELS: Readonly<Record<CloseReason, string>> = {
  true_positive: 'True positive',
  benign: 'Benign',
  false_positive: 'False positive',
};

interface AlertsLocation {
  readonly filter: AlertFilter;
  readonly alertId: string | null;
}

function readLocation(search: string): AlertsLocation {
  const params = new URLSearchParams(search);
  const status = ALERT_STATUSES.find((value) => value === params.get('status')) ?? null;
  const severity = SEVERITIES.find((value) => value === params.get('severity')) ?? null;
  const rule = params.get('rule');
  const page = Number(params.get('page') ?? '1');
  const alertId = params.get('alert');
  return {
    filter: {
      status,
      severity,
      rule: rule === null || rule === '' ? null : rule.slice(0, 64),
      page: Number.isInteger(page) && page >= 1 && page <= 1000 ? page : 1,
    },
    alertId: alertId === null || alertId === '' ? null : alertId.slice(0, 80),
  };
}

function alertsUrl(filter: AlertFilter, alertId: string | null = null): string {
  const params = new URLSearchParams();
  if (filter.status !== null) params.set('status', filter.status);
  if (filter.severity !== null) params.set('severity', filter.severity);
  if (filter.rule !== null) params.set('rule', filter.rule);
  if (filter.page !== 1) params.set('page', String(filter.page));
  if (alertId !== null) params.set('alert', alertId);
  const text = params.toString();
  return text === '' ? '/alerts' : `/alerts?${text}`;
}

export interface EvidenceExploreLink {
  readonly url: string;
  /** How many of the evidence events the link's query holds. */
  readonly shown: number;
}

/**
 * An Explore link showing the evidence events of an alert, with `open` shown in the event panel: as many as fit
 * in a query, in the order given, the one to open always among them.
 */
export function evidenceExploreLink(evidence: readonly Evidence[], open: string | null): EvidenceExploreLink {
  const opened = evidence.find((ref) => ref.eventId === open);
  const ordered = opened === undefined ? evidence : [opened, ...evidence.filter((ref) => ref !== opened)];
  const terms: string[] = [];
  const shown: Evidence[] = [];
  let encoded = 0;
  for (const ref of ordered) {
    const term = `${terms.length === 0 ? '' : ' OR '}id:"${ref.eventId}"`;
    if (encoded + encodeURIComponent(term).length > MAX_EVIDENCE_QUERY_ENCODED_CHARS) break;
    encoded += encodeURIComponent(term).length;
    terms.push(term);
    shown.push(ref);
  }
  const times = shown.map((ref) => Date.parse(ref.eventTime)).filter((ms) => !Number.isNaN(ms));
  const params = new URLSearchParams({ q: terms.join('') });
  if (times.length > 0) {
    // A minute either side: the range ends are exclusive and event times carry milliseconds.
    params.set('from', new Date(Math.min(...times) - 60_000).toISOString());
    params.set('to', new Date(Math.max(...times) + 60_000).toISOString());
  }
  if (open !== null) params.set('event', open);
  return { url: `/explore?${params.toString()}`, shown: shown.length };
}

/** The ATT&CK page of a technique id, or null when the id is not one (the link is built, never taken from data). */
export function techniqueUrl(technique: string): string | null {
  const match = TECHNIQUE.exec(technique);
  if (match === null) return null;
  return `https://attack.mitre.org/techniques/T${match[1] ?? ''}/${match[2] === undefined ? '' : `${match[2]}/`}`;
}

function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

/** The entity's user, address and application, each shortened on its own with the whole value in its title. */
function EntityParts({ entity }: { entity: Alert['entity'] }): ReactNode {
  const parts = [entity.user, entity.ip, entity.app].filter((part): part is string => part !== null);
  if (parts.length === 0) return MISSING;
  return parts.map((part, index) => (
    <span key={index}>
      {index === 0 ? null : ' · '}
      <span className="entity-part" title={displayText(part)}>
        {displayText(part)}
      </span>
    </span>
  ));
}

/** Why an alert link leads nowhere: an id the server does not know, or one that cannot be an alert id at all. */
function isUnknownAlert(failure: unknown): boolean {
  return failure instanceof ApiError && (failure.code === 'ALERT_NOT_FOUND' || failure.code === 'HTTP_REQUEST_INVALID');
}

function InternalLink({ href, children, label }: { href: string; children: ReactNode; label?: string }): ReactNode {
  return (
    <a
      href={href}
      aria-label={label}
      onClick={(event: MouseEvent<HTMLAnchorElement>) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** Alerts raised by the detection rules: a filtered list, and one alert's detail with its actions. */
export function AlertsPage({ api, user, search }: AlertsPageProps): ReactNode {
  const client = useMemo(() => new AlertsClient(api), [api]);
  const location = useMemo(() => readLocation(search), [search]);
  if (location.alertId !== null) {
    return <AlertDetailView client={client} user={user} id={location.alertId} filter={location.filter} />;
  }
  // Whether alerts reach the webhooks and syslog collectors matters to those who act on them; viewers do not.
  const showDelivery = user.role === 'admin' || user.role === 'analyst';
  return (
    <AlertList client={client} filter={location.filter}>
      {showDelivery ? <NotifyStatus api={api} /> : null}
    </AlertList>
  );
}

function AlertList({
  client,
  filter,
  children,
}: {
  client: AlertsClient;
  filter: AlertFilter;
  children?: ReactNode;
}): ReactNode {
  const [page, setPage] = useState<AlertPage | null>(null);
  const [rules, setRules] = useState<readonly Rule[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client.listAlerts(filter).then(
      (answer) => {
        if (!live) return;
        setPage(answer);
        setError(null);
      },
      (failure: unknown) => live && setError(messageOf(failure, 'The alerts could not be loaded.')),
    );
    return () => {
      live = false;
    };
  }, [client, filter]);

  useEffect(() => {
    client.listRules().then(setRules, () => setRules([]));
  }, [client]);

  const setFilter = (change: Partial<AlertFilter>): void => navigate(alertsUrl({ ...filter, page: 1, ...change }));
  const pages = page === null ? 1 : Math.max(1, Math.ceil(page.total / ALERTS_PAGE_SIZE));

  return (
    <div className="page">
      <div className="page-head">
        <h1>Alerts</h1>
        <InternalLink href="/rules">Detection rules</InternalLink>
      </div>
      <div className="alert-filters" role="group" aria-label="Alert filters">
        <label>
          Status
          <select
            value={filter.status ?? ''}
            onChange={(event) => setFilter({ status: ALERT_STATUSES.find((s) => s === event.target.value) ?? null })}
          >
            <option value="">Any</option>
            {ALERT_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select
            value={filter.severity ?? ''}
            onChange={(event) => setFilter({ severity: SEVERITIES.find((s) => s === event.target.value) ?? null })}
          >
            <option value="">Any</option>
            {SEVERITIES.map((severity) => (
              <option key={severity} value={severity}>
                {severity}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rule
          <select
            value={filter.rule ?? ''}
            onChange={(event) => setFilter({ rule: event.target.value === '' ? null : event.target.value })}
          >
            <option value="">Any</option>
            {filter.rule !== null && !rules.some((rule) => rule.id === filter.rule) ? (
              <option value={filter.rule}>{displayText(filter.rule)}</option>
            ) : null}
            {rules.map((rule) => (
              <option key={rule.id} value={rule.id}>
                {displayText(rule.title)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Messages error={error} />
      {page === null ? (
        <p className="muted">Loading…</p>
      ) : page.alerts.length === 0 ? (
        <p className="empty">No alerts match these filters.</p>
      ) : (
        <div className="table-scroll">
          <table className="grid alerts-table" aria-label="Alerts">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Alert</th>
                <th>Entity</th>
                <th className="num">Events</th>
                <th>First event (UTC)</th>
                <th>Last event (UTC)</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {page.alerts.map((alert) => (
                <tr key={alert.id}>
                  <td>
                    <span className={`badge severity-${alert.severity}`}>{alert.severity}</span>
                  </td>
                  <td className="alert-cell">
                    <InternalLink href={alertsUrl(filter, alert.id)}>{displayText(alert.title)}</InternalLink>
                    <div className="muted alert-summary-line" title={displayText(alert.summary)}>
                      {displayText(alert.summary)}
                    </div>
                  </td>
                  <td className="entity-cell">
                    <EntityParts entity={alert.entity} />
                  </td>
                  <td className="num">{alert.count}</td>
                  <td>{formatTime(alert.firstEventTime, { zone: false })}</td>
                  <td>{formatTime(alert.lastEventTime, { zone: false })}</td>
                  <td>
                    {alert.status}
                    {alert.closeReason === null ? null : ` (${CLOSE_REASON_LABELS[alert.closeReason]})`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page !== null && pages > 1 ? (
        <div className="actions">
          <button
            type="button"
            disabled={filter.page <= 1}
            onClick={() => navigate(alertsUrl({ ...filter, page: filter.page - 1 }))}
          >
            Previous
          </button>
          <span className="muted">
            Page {filter.page} of {pages}
          </span>
          <button
            type="button"
            disabled={filter.page >= pages}
            onClick={() => navigate(alertsUrl({ ...filter, page: filter.page + 1 }))}
          >
            Next
          </button>
        </div>
      ) : null}
      {children}
    </div>
  );
}

function AlertDetailView({
  client,
  user,
  id,
  filter,
}: {
  client: AlertsClient;
  user: SignedInUser;
  id: string;
  filter: AlertFilter;
}): ReactNode {
  const [detail, setDetail] = useState<AlertDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState<CloseReason>('true_positive');
  const [closeComment, setCloseComment] = useState('');
  const [assignee, setAssignee] = useState('');
  const [comment, setComment] = useState('');
  const canChange = user.role === 'admin' || user.role === 'analyst';

  const load = useCallback(
    (): Promise<void> =>
      client.getAlert(id).then(
        (answer) => {
          setDetail(answer);
          setError(null);
        },
        (failure: unknown) =>
          setError(
            isUnknownAlert(failure)
              ? `No alert has the id "${id}". Open one from the list of all alerts.`
              : messageOf(failure, 'The alert could not be loaded.'),
          ),
      ),
    [client, id],
  );
  useEffect(() => {
    void load();
  }, [load]);

  // `onDone` clears what was typed for the action only once the server took it: after a failure the text is
  // still there to send again.
  const act = (work: () => Promise<void>, done: string, onDone?: () => void): void => {
    setBusy(true);
    work().then(
      async () => {
        onDone?.();
        // The notice comes with the changed alert, so it never stands beside the status from before the change.
        await load();
        setBusy(false);
        setNotice(done);
      },
      (failure: unknown) => {
        setBusy(false);
        setNotice(null);
        setError(messageOf(failure, 'The alert could not be changed.'));
      },
    );
  };

  const back = <InternalLink href={alertsUrl(filter)}>← All alerts</InternalLink>;
  if (detail === null) {
    return (
      <div className="page">
        {back}
        {error === null ? <p className="muted">Loading…</p> : <Messages error={error} />}
      </div>
    );
  }
  const { alert, evidence, history } = detail;
  const allEvidence = evidenceExploreLink(evidence, null);
  const attack = techniqueUrl(alert.technique);
  return (
    <div className="page alert-detail">
      {back}
      <div className="page-head">
        <h1>{displayText(alert.title)}</h1>
        <span className={`badge severity-${alert.severity}`}>{alert.severity}</span>
      </div>
      <p className="alert-summary" aria-label="Summary">
        {displayText(alert.summary)}
      </p>
      <Messages error={error} notice={notice} noticeStyle="text" />
      <dl className="alert-facts">
        <dt>Status</dt>
        <dd aria-label="Alert status">
          {alert.status}
          {alert.closeReason === null ? null : ` (${CLOSE_REASON_LABELS[alert.closeReason]})`}
        </dd>
        <dt>Rule</dt>
        <dd>
          <InternalLink href={`/rules#${encodeURIComponent(alert.ruleId)}`}>{displayText(alert.ruleId)}</InternalLink>
        </dd>
        <dt>Technique</dt>
        <dd>
          {attack === null ? (
            displayText(alert.technique)
          ) : (
            <a href={attack} target="_blank" rel="noopener noreferrer">
              {alert.technique}
            </a>
          )}
        </dd>
        <dt>User</dt>
        <dd>{alert.entity.user === null ? MISSING : displayText(alert.entity.user)}</dd>
        <dt>IP</dt>
        <dd>{alert.entity.ip === null ? MISSING : displayText(alert.entity.ip)}</dd>
        <dt>Application</dt>
        <dd>{alert.entity.app === null ? MISSING : displayText(alert.entity.app)}</dd>
        <dt>Events</dt>
        <dd>
          {alert.count}, {formatTime(alert.firstEventTime, { zone: false })} to {formatTime(alert.lastEventTime)}
        </dd>
        <dt>Assignee</dt>
        <dd aria-label="Alert assignee">{alert.assignee === null ? 'nobody' : displayText(alert.assignee)}</dd>
      </dl>

      {canChange ? (
        <section className="card alert-actions" aria-label="Alert actions">
          <h2>Actions</h2>
          {alert.status === 'open' ? (
            <button
              type="button"
              disabled={busy}
              onClick={() => act(() => client.acknowledge(alert.id), 'Alert acknowledged.')}
            >
              Acknowledge
            </button>
          ) : (
            // A closed or acknowledged alert that needs looking at again goes back to open, its history kept.
            <button type="button" disabled={busy} onClick={() => act(() => client.reopen(alert.id), 'Alert reopened.')}>
              Reopen
            </button>
          )}
          {alert.status === 'closed' ? null : (
            <form
              aria-label="Close alert"
              onSubmit={(event: FormEvent) => {
                event.preventDefault();
                act(
                  () => client.close(alert.id, reason, closeComment),
                  'Alert closed.',
                  () => setCloseComment(''),
                );
              }}
            >
              <label>
                Reason
                <select
                  value={reason}
                  onChange={(event) => setReason(CLOSE_REASONS.find((r) => r === event.target.value) ?? reason)}
                >
                  {CLOSE_REASONS.map((value) => (
                    <option key={value} value={value}>
                      {CLOSE_REASON_LABELS[value]}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Closing note
                <input
                  value={closeComment}
                  maxLength={2000}
                  onChange={(event) => setCloseComment(event.target.value)}
                />
              </label>
              <button type="submit" disabled={busy}>
                Close alert
              </button>
            </form>
          )}
          <form
            aria-label="Assign alert"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              // The placeholder names the signed-in user: an empty field takes the alert for them.
              const who = assignee.trim() === '' ? user.name : assignee.trim();
              act(
                () => client.assign(alert.id, who),
                `Alert assigned to ${who}.`,
                () => setAssignee(''),
              );
            }}
          >
            <label>
              Assignee
              <input
                value={assignee}
                maxLength={200}
                placeholder={user.name}
                onChange={(event) => setAssignee(event.target.value)}
              />
            </label>
            <button type="submit" disabled={busy}>
              Assign
            </button>
            {alert.assignee === null ? null : (
              <button
                type="button"
                disabled={busy}
                onClick={() => act(() => client.assign(alert.id, null), 'Alert unassigned.')}
              >
                Unassign
              </button>
            )}
          </form>
          <form
            aria-label="Comment on alert"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              if (comment.trim() === '') return;
              act(
                () => client.comment(alert.id, comment),
                'Comment added.',
                () => setComment(''),
              );
            }}
          >
            <label>
              Comment
              <textarea
                value={comment}
                maxLength={2000}
                rows={2}
                onChange={(event) => setComment(event.target.value)}
              />
            </label>
            <button type="submit" disabled={busy || comment.trim() === ''}>
              Add comment
            </button>
          </form>
        </section>
      ) : (
        <p className="muted">Viewers can read alerts; an analyst or an admin acknowledges, assigns and closes them.</p>
      )}

      <section className="card">
        <div className="page-head">
          <h2>Evidence ({evidence.length})</h2>
          {evidence.length === 0 ? null : (
            <InternalLink href={allEvidence.url}>
              {allEvidence.shown === evidence.length
                ? 'Show in Explore'
                : `Show the first ${allEvidence.shown} of ${evidence.length} in Explore`}
            </InternalLink>
          )}
        </div>
        <div className="table-scroll">
          <table className="grid" aria-label="Evidence events">
            <thead>
              <tr>
                <th>Event time (UTC)</th>
                <th>Event</th>
              </tr>
            </thead>
            <tbody>
              {evidence.map((ref) => (
                <tr key={ref.eventId}>
                  <td className="time">{formatTime(ref.eventTime, { zone: false })}</td>
                  <td className="mono">
                    <InternalLink
                      href={evidenceExploreLink(evidence, ref.eventId).url}
                      label={`Open event ${ref.eventId}`}
                    >
                      {displayText(ref.eventId)}
                    </InternalLink>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card">
        <h2>History</h2>
        <div className="table-scroll">
          <table className="grid" aria-label="Alert history">
            <thead>
              <tr>
                <th>When (UTC)</th>
                <th>Who</th>
                <th>What</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {history.map((entry, index) => (
                <tr key={`${entry.at}-${index}`}>
                  <td className="time">{formatTime(entry.at, { zone: false })}</td>
                  <td>{displayText(entry.actor)}</td>
                  <td>{displayText(entry.action)}</td>
                  <td className="history-details">{describeDetails(entry.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

/**
 * History details as plain "key: value" text; values that are not text are shown as JSON. Comments and closing
 * notes are the team's own, written over several lines on purpose, so their line breaks stay.
 */
function describeDetails(details: Readonly<Record<string, unknown>>): string {
  return Object.entries(details)
    .map(([key, value]) => displayNote(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`))
    .join('; ');
}
