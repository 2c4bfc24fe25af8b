import { useEffect, useMemo, useState } from 'react';
import type { ApiClient } from '../api-client.js';
import { AlertsClient } from './alerts-client.js';

/**
 * How many alerts are open, for the navigation; null until known or when signed out. It is read again on each
 * page change, so acknowledging or closing one shows in the count as soon as the analyst moves on.
 */
export function useOpenAlertCount(api: ApiClient, signedIn: boolean, pathname: string, search: string): number | null {
  const client = useMemo(() => new AlertsClient(api), [api]);
  const [count, setCount] = useState<number | null>(null);
  useEffect(() => {
    if (!signedIn) {
      setCount(null);
      return;
    }
    let live = true;
    client.listAlerts({ status: 'open', severity: null, rule: null, page: 1 }).then(
      (page) => live && setCount(page.total),
      // The count is a hint; the Alerts page itself reports why alerts cannot be read.
      () => live && setCount(null),
    );
    return () => {
      live = false;
    };
  }, [client, signedIn, pathname, search]);
  return count;
}
