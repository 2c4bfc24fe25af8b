import { useCallback, useEffect, useRef, useState, type MouseEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type EventRecord } from '../api-client.js';
import { displayJson, displayText, formatTime } from '../format.js';
import { navigate, timelinePath, type TimelineKind } from '../router.js';
import { Messages } from './messages.js';
import { MissingValue } from './missing-value.js';
import { ValueMenu, type ValueActions } from './value-menu.js';

export interface EventPanelProps {
  readonly api: ApiClient;
  readonly id: string;
  readonly onClose: () => void;
  /** Filter for / filter out / pivot on each value; without it the values are shown only. */
  readonly actions?: ValueActions | undefined;
}

const FIELDS: readonly { readonly key: keyof EventRecord; readonly label: string }[] = [
  { key: 'time', label: 'Time' },
  { key: 'dataset', label: 'Dataset' },
  { key: 'activity', label: 'Activity' },
  { key: 'outcome', label: 'Outcome' },
  { key: 'user', label: 'User' },
  { key: 'src_ip', label: 'Source IP' },
  { key: 'country', label: 'Country' },
  { key: 'app', label: 'Application' },
  { key: 'app_uid', label: 'Application id' },
  { key: 'idp', label: 'Identity provider' },
  { key: 'ray_id', label: 'Ray id' },
  { key: 'class_uid', label: 'OCSF class' },
  { key: 'source', label: 'Data source' },
  { key: 'account_id', label: 'Account id' },
  { key: 'id', label: 'Event id' },
];

/**
 * One event: the normalized fields, the enrichments zerotrail added from the inventory, the OCSF event and the
 * raw Cloudflare record. Every value is shown as text; nothing from an event becomes markup, and the only links
 * are to our own timeline pages, with the value as one encoded path segment.
 */
export function EventPanel({ api, id, onClose, actions }: EventPanelProps): ReactNode {
  const [state, setState] = useState<
    | { readonly status: 'loading' }
    | { readonly status: 'ok'; readonly event: EventRecord }
    | { readonly status: 'error'; readonly message: string }
  >({ status: 'loading' });

  useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    api.getEvent(id).then(
      (event) => {
        if (current) setState({ status: 'ok', event });
      },
      (failure: unknown) => {
        if (current) {
          setState({
            status: 'error',
            message: failure instanceof ApiError ? failure.message : 'The event could not be loaded.',
          });
        }
      },
    );
    return () => {
      current = false;
    };
  }, [api, id]);

  // The row (or link) that opened the panel gets the focus back when it closes, so a keyboard user carries on
  // from where they were instead of from the top of the page.
  const panel = useRef<HTMLElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const active = document.activeElement;
    if (active instanceof HTMLElement && active !== document.body && panel.current?.contains(active) !== true) {
      opener.current = active;
    }
  }, [id]);
  const close = useCallback((): void => {
    const back = opener.current;
    onClose();
    if (back?.isConnected === true) back.focus();
  }, [onClose]);
  useEffect(() => {
    const onKey = (key: KeyboardEvent): void => {
      // A menu or suggestion list that handled Escape itself marks it so; only a bare Escape closes the panel.
      if (key.key !== 'Escape' || key.defaultPrevented) return;
      key.preventDefault();
      close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [close]);

  return (
    <aside className="event-panel" aria-label="Event details" ref={panel}>
      <header>
        <h2>Event</h2>
        <button type="button" className="quiet" onClick={close} aria-label="Close event">
          Close
        </button>
      </header>
      {state.status === 'loading' ? <p className="muted">Loading event…</p> : null}
      {state.status === 'error' ? <Messages error={state.message} /> : null}
      {state.status === 'ok' ? <EventBody event={state.event} actions={actions} /> : null}
    </aside>
  );
}

function EventBody({
  event,
  actions,
}: {
  readonly event: EventRecord;
  readonly actions: ValueActions | undefined;
}): ReactNode {
  const enrichments = enrichmentsOf(event.ocsf);
  return (
    <div className="event-body">
      <section aria-label="Normalized fields">
        <h3>Fields</h3>
        <dl className="fields">
          {FIELDS.map(({ key, label }) => (
            <div key={key}>
              <dt>
                {label} <TimelineLink event={event} field={key} />
              </dt>
              <dd className={key === 'id' || key === 'account_id' || key === 'ray_id' ? 'mono' : undefined}>
                {fieldText(event, key)}
                {actions === undefined || key === 'time' || !hasValue(event, key) ? null : (
                  <ValueMenu
                    field={key}
                    label={label}
                    value={String(event[key])}
                    actions={actions}
                    timelineValue={key === 'app' ? (event.app_uid ?? undefined) : undefined}
                  />
                )}
              </dd>
            </div>
          ))}
        </dl>
      </section>
      <section aria-label="Enrichments">
        <h3>Enrichments</h3>
        {enrichments.length === 0 ? (
          <p className="muted">No enrichment: the inventory knew nothing more about this event.</p>
        ) : (
          <ul className="enrichments">
            {enrichments.map((entry, index) => (
              <li key={`${entry.name}-${index}`}>
                <p>
                  <span className="mono">{displayText(entry.name)}</span> = <strong>{displayText(entry.value)}</strong>{' '}
                  <span className="badge idle">{displayText(entry.type)}</span>
                </p>
                {entry.desc === '' ? null : <p className="muted">{displayText(entry.desc)}</p>}
                <pre className="json small">{entry.data}</pre>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Raw Cloudflare record">
        <h3>Raw Cloudflare record</h3>
        <pre className="json" data-testid="raw-record">
          {displayJson(event.raw)}
        </pre>
      </section>
      <details>
        <summary>OCSF event</summary>
        <pre className="json">{displayJson(event.ocsf)}</pre>
      </details>
    </div>
  );
}

// The fields that have a timeline, and which timeline; an application's is keyed by its id when known.
const TIMELINE_FIELDS: Partial<Record<keyof EventRecord, TimelineKind>> = { user: 'user', src_ip: 'ip', app: 'app' };

function TimelineLink({ event, field }: { readonly event: EventRecord; readonly field: keyof EventRecord }): ReactNode {
  const kind = TIMELINE_FIELDS[field];
  const value = kind === 'app' ? (event.app_uid ?? event.app) : event[field];
  if (kind === undefined || typeof value !== 'string' || value === '') return null;
  const href = timelinePath(kind, value);
  return (
    <a
      className="pivot"
      href={href}
      aria-label={`Timeline of this ${kind === 'ip' ? 'IP address' : kind === 'app' ? 'application' : 'user'}`}
      onClick={(click: MouseEvent<HTMLAnchorElement>) => {
        if (click.metaKey || click.ctrlKey || click.shiftKey || click.button !== 0) return;
        click.preventDefault();
        navigate(href);
      }}
    >
      timeline
    </a>
  );
}

function hasValue(event: EventRecord, key: keyof EventRecord): boolean {
  const value = event[key];
  return typeof value === 'number' || (typeof value === 'string' && value !== '');
}

function fieldText(event: EventRecord, key: keyof EventRecord): ReactNode {
  const value = event[key];
  if (value === null || value === undefined || value === '') return <MissingValue />;
  if (key === 'time' && typeof value === 'string') return formatTime(value);
  return displayText(typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value));
}

interface EnrichmentView {
  readonly name: string;
  readonly value: string;
  readonly type: string;
  readonly desc: string;
  readonly data: string;
}

/** OCSF `enrichments`, read defensively: each part shown is a string, whatever the stored event holds. */
function enrichmentsOf(ocsf: Readonly<Record<string, unknown>>): readonly EnrichmentView[] {
  const list = ocsf['enrichments'];
  if (!Array.isArray(list)) return [];
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  return (list as unknown[]).flatMap((item) => {
    if (typeof item !== 'object' || item === null) return [];
    const entry = item as Record<string, unknown>;
    return [
      {
        name: text(entry['name']),
        value: text(entry['value']),
        type: text(entry['type']),
        desc: text(entry['desc']),
        data: displayJson(entry['data'] ?? {}),
      },
    ];
  });
}
