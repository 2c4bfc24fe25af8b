import { useSyncExternalStore } from 'react';

// The UI's few pages are plain paths; a reload or a shared link lands on the same page because the server
// answers each of them with index.html.

const CHANGE = 'zerotrail:navigate';

export interface PageLocation {
  readonly pathname: string;
  readonly search: string;
}

let current: PageLocation | null = null;

function read(): PageLocation {
  const { pathname, search } = window.location;
  // useSyncExternalStore needs the same object back while nothing changed.
  if (current?.pathname !== pathname || current.search !== search) current = { pathname, search };
  return current;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(CHANGE, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(CHANGE, onChange);
  };
}

export function useLocation(): PageLocation {
  return useSyncExternalStore(subscribe, read);
}

/** Moves to `url` (same origin, a path with an optional query) without reloading the page. */
export function navigate(url: string, options: { readonly replace?: boolean } = {}): void {
  if (options.replace === true) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(CHANGE));
}

export const TIMELINE_KINDS = ['user', 'ip', 'app', 'device'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * `/timeline/<kind>/<value>`: the value is one encoded path segment, so whatever an event field holds it stays
 * a path on our own origin and can never become a scheme, a host or another path.
 */
export function timelinePath(kind: TimelineKind, value: string): string {
  return `/timeline/${kind}/${encodeURIComponent(value)}`;
}

/** The kind and value of a timeline path, or null when `pathname` is not one. */
export function parseTimelinePath(pathname: string): { readonly kind: TimelineKind; readonly value: string } | null {
  const match = /^\/timeline\/([a-z]+)\/([^/]+)$/.exec(pathname);
  const kind = TIMELINE_KINDS.find((candidate) => candidate === match?.[1]);
  if (match?.[2] === undefined || kind === undefined) return null;
  try {
    const value = decodeURIComponent(match[2]);
    return value === '' ? null : { kind, value };
  } catch {
    // A malformed escape is not a timeline anyone linked to.
    return null;
  }
}

/**
 * The alert id of `/alerts/<id>`, the link notifications (webhook, Slack, syslog) carry, or null when `pathname` is
 * not one. The UI itself shows an alert at `/alerts?alert=<id>`, beside the list's filters.
 */
export function parseAlertPath(pathname: string): string | null {
  const match = /^\/alerts\/([^/]+)\/?$/.exec(pathname);
  if (match?.[1] === undefined) return null;
  try {
    const id = decodeURIComponent(match[1]);
    return id === '' ? null : id;
  } catch {
    // A malformed escape names no alert; the path is then as unknown as any other.
    return null;
  }
}
