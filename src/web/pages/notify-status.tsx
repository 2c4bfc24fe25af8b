import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { ApiError, type ApiClient } from '../api-client.js';
import { displayText, formatAgo, formatTime } from '../format.js';
import { Messages } from './messages.js';
import { fetchNotifyStatus, type NotifyTarget } from './notify-client.js';

// The status changes as targets deliver and retry; reading it this often costs a few small queries.
const REFRESH_MS = 30_000;

const STATES: Readonly<Record<string, { readonly label: string; readonly badge: string }>> = {
  idle: { label: 'Idle', badge: 'badge good' },
  delivering: { label: 'Delivering', badge: 'badge good' },
  starting: { label: 'Starting', badge: 'badge' },
  retrying: { label: 'Retrying', badge: 'badge warn' },
  stopped: { label: 'Stopped', badge: 'badge bad' },
  offline: { label: 'Offline', badge: 'badge' },
  never_started: { label: 'Never started', badge: 'badge' },
};

function stateOf(target: NotifyTarget): { readonly label: string; readonly badge: string } {
  return STATES[target.state] ?? { label: target.state.replace(/_/g, ' '), badge: 'badge' };
}

function Ago({ iso, now }: { iso: string | null; now: number }): ReactNode {
  if (iso === null) return 'never';
  return <time title={formatTime(iso)}>{formatAgo(iso, now)}</time>;
}

/** What needs the reader's eye: targets that stopped or keep failing, in words. */
function problems(targets: readonly NotifyTarget[]): readonly string[] {
  const lines: string[] = [];
  for (const target of targets) {
    const error = target.lastError === null ? '' : ` (${target.lastError.code}: ${target.lastError.message})`;
    if (target.state === 'stopped') {
      lines.push(
        `Alerts are not reaching ${target.target}: it stopped${error}. Fix its configuration and restart zerotrail; its notices wait in the queue.`,
      );
    } else if (target.state === 'retrying') {
      lines.push(`Alerts to ${target.target} are being retried${error}; ${target.queued} waiting.`);
    }
  }
  return lines;
}

/**
 * The notification targets (webhooks, syslog) and whether alerts reach them: state, queue depth, deliveries,
 * last success, last error and retries, as the delivering process last wrote them.
 */
export function NotifyStatus({ api }: { api: ApiClient }): ReactNode {
  const [targets, setTargets] = useState<readonly NotifyTarget[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(() => {
    fetchNotifyStatus(api).then(
      (list) => {
        setTargets(list);
        setNow(Date.now());
        setError(null);
      },
      (failure: unknown) =>
        setError(failure instanceof ApiError ? failure.message : 'The notification status could not be loaded.'),
    );
  }, [api]);
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const warnings = targets === null ? [] : problems(targets);
  return (
    <section className="card" id="notifications" aria-label="Notification delivery">
      <div className="page-head">
        <h2>Notification delivery</h2>
        <button type="button" className="quiet" onClick={load}>
          Refresh
        </button>
      </div>
      <Messages error={error} />
      {warnings.map((line) => (
        <p key={line} className="warning">
          {displayText(line)}
        </p>
      ))}
      {targets === null ? (
        error === null ? (
          <p className="muted">Loading…</p>
        ) : null
      ) : targets.length === 0 ? (
        <p className="muted">
          No notification targets are configured, so alerts are only shown here. Webhook and syslog targets are set
          under notify.targets in the configuration file (docs/notifications.md).
        </p>
      ) : (
        <div className="table-scroll">
          <table className="grid" aria-label="Notification targets">
            <thead>
              <tr>
                <th>Target</th>
                <th>State</th>
                <th className="num">Queued</th>
                <th className="num">Delivered</th>
                <th className="num">Refused</th>
                <th className="num">Retries</th>
                <th>Last success</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {targets.map((target) => {
                const state = stateOf(target);
                return (
                  <tr key={target.target} aria-label={`Target ${target.target}`}>
                    <td>
                      {displayText(target.target)} <span className="muted">{displayText(target.type)}</span>
                      {target.configured ? null : <div className="muted">no longer configured</div>}
                      {target.minSeverity === null ? null : <div className="muted">{target.minSeverity} and above</div>}
                    </td>
                    <td>
                      <span className={state.badge} aria-label={`State of ${target.target}`}>
                        {state.label}
                      </span>
                      {target.state === 'offline' ? (
                        <div className="muted">no running zerotrail delivers for it</div>
                      ) : null}
                      {target.state === 'retrying' && target.attempt > 0 ? (
                        <div className="muted">
                          try {target.attempt}
                          {target.nextAttemptAt === null ? null : <>, next at {formatTime(target.nextAttemptAt)}</>}
                        </div>
                      ) : null}
                    </td>
                    <td className="num" aria-label={`Queued for ${target.target}`}>
                      {target.queued}
                      {target.oldestQueuedAt === null ? null : (
                        <div className="muted">
                          oldest <Ago iso={target.oldestQueuedAt} now={now} />
                        </div>
                      )}
                    </td>
                    <td className="num">{target.delivered}</td>
                    <td className="num">{target.refused}</td>
                    <td className="num">{target.retries}</td>
                    <td>
                      <Ago iso={target.lastSuccessAt} now={now} />
                    </td>
                    <td className="notify-error">
                      {target.lastError === null ? (
                        'none'
                      ) : (
                        <>
                          <span className="mono">{displayText(target.lastError.code)}</span>:{' '}
                          {displayText(target.lastError.message)}
                          {target.lastError.at === null ? null : (
                            <div className="muted">
                              <Ago iso={target.lastError.at} now={now} />
                            </div>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
