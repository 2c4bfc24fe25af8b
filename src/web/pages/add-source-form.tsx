import { useState, type FormEvent, type ReactNode } from 'react';
import {
  ApiError,
  datasetChecksIn,
  errorText,
  type ApiClient,
  type ConnectionReport,
  type DatasetCheck,
} from '../api-client.js';
import { displayText } from '../format.js';
import { ConnectionTable } from './connection-table.js';

export interface AddSourceFormProps {
  readonly api: ApiClient;
  /** Whether any collector is alive to collect the source once added. */
  readonly collecting: boolean;
  readonly onAdded: (name: string) => void;
  readonly onCancel: () => void;
}

type Step = 'method' | 'integration' | 'form';

interface Outcome {
  /** `tested`: the connection test ran and nothing was saved yet. */
  readonly kind: 'tested' | 'added' | 'refused';
  readonly message: string;
  readonly report: ConnectionReport | { readonly datasets: readonly DatasetCheck[] } | null;
}

const ACCOUNT_ID = /^[0-9a-fA-F]{32}$/;

/**
 * Add data source → API → Cloudflare Zero Trust: the three fields of Cloudflare's recipe. The server tests the
 * connection before it stores anything, and the token is sent once and never read back.
 */
export function AddSourceForm({ api, collecting, onAdded, onCancel }: AddSourceFormProps): ReactNode {
  const [step, setStep] = useState<Step>('method');
  const [apiToken, setApiToken] = useState('');
  const [accountId, setAccountId] = useState('');
  const [name, setName] = useState('Cloudflare Zero Trust Logs');
  const [problems, setProblems] = useState<readonly string[]>([]);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  /** The client-side checks; the server repeats them. Empty when the fields may be sent. */
  const check = (needName: boolean): readonly string[] => {
    const found: string[] = [];
    if (apiToken.trim() === '') found.push('Paste the API token you created in the Cloudflare dashboard.');
    if (!ACCOUNT_ID.test(accountId.trim())) {
      found.push('The Account ID is the 32-character hexadecimal id in your dashboard URL.');
    }
    if (needName && name.trim() === '') found.push('Give the data source a name.');
    setProblems(found);
    return found;
  };

  // Testing needs only the token and the Account ID, and stores nothing.
  const runTest = (): void => {
    if (check(false).length > 0) return;
    setBusy(true);
    setOutcome(null);
    api.testNewSource({ apiToken: apiToken.trim(), accountId: accountId.trim() }).then(
      (report) => {
        setBusy(false);
        // A required dataset Cloudflare did not answer for (a rate limit, an outage) proves nothing either way.
        const unchecked = report.datasets.some((row) => row.required && row.state === 'unchecked');
        setOutcome({
          kind: report.requiredMissing || unchecked ? 'refused' : 'tested',
          message: report.requiredMissing
            ? 'Not saved: the token lacks a permission zerotrail needs. Add it in the Cloudflare dashboard and test again.'
            : unchecked
              ? 'Not verified: Cloudflare did not answer every check (the rows marked "not checked"), which says nothing about the token. Test again in a few minutes.'
              : 'Connection works. Nothing is saved yet: add the data source to start collecting.',
          report,
        });
      },
      (failure: unknown) => {
        setBusy(false);
        setOutcome(refusal(failure, 'The connection test failed.'));
      },
    );
  };

  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    if (check(true).length > 0) return;
    setBusy(true);
    setOutcome(null);
    api.addSource({ apiToken: apiToken.trim(), accountId: accountId.trim(), name: name.trim() }).then(
      (added) => {
        setBusy(false);
        // The token leaves the page's memory as soon as the server has it.
        setApiToken('');
        setOutcome({
          kind: 'added',
          message: `Added "${added.source?.name ?? name.trim()}". ${
            collecting
              ? 'Collection starts now; the first events arrive within a minute.'
              : 'No collector is running, so nothing is collected until one starts.'
          }`,
          report: added.connection,
        });
        onAdded(added.source?.name ?? name.trim());
      },
      (failure: unknown) => {
        setBusy(false);
        setOutcome(refusal(failure, 'Adding the data source failed.'));
      },
    );
  };

  if (step === 'method') {
    return (
      <section className="card wizard" aria-label="Add data source">
        <h2>Add data source</h2>
        <p className="muted">How should zerotrail get the logs?</p>
        <div className="choices">
          <button type="button" className="choice" onClick={() => setStep('integration')}>
            <strong>API</strong>
            <span>zerotrail pulls the logs from the vendor&apos;s API on a schedule.</span>
          </button>
        </div>
        <div className="actions">
          <button type="button" className="quiet" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </section>
    );
  }
  if (step === 'integration') {
    return (
      <section className="card wizard" aria-label="Add data source">
        <h2>Add data source · API</h2>
        <p className="muted">Which service?</p>
        <div className="choices">
          <button type="button" className="choice" onClick={() => setStep('form')}>
            <strong>Cloudflare Zero Trust</strong>
            <span>Access logins, SCIM and audit logs, and the Zero Trust inventory.</span>
          </button>
        </div>
        <div className="actions">
          <button type="button" className="quiet" onClick={() => setStep('method')}>
            Back
          </button>
          <button type="button" className="quiet" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </section>
    );
  }

  return (
    <section className="card wizard" aria-label="Add data source">
      <h2>Add data source · API · Cloudflare Zero Trust</h2>
      <form onSubmit={submit} noValidate>
        <label>
          API Token
          <input
            name="apiToken"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={apiToken}
            onChange={(event) => {
              setApiToken(event.target.value);
              if (outcome !== null && outcome.kind !== 'added') setOutcome(null);
            }}
          />
          <span className="help">
            Cloudflare dashboard → My Profile → API Tokens → Create Custom Token, with Access: Audit Logs Read, Zero
            Trust Read and Access: Organizations, Identity Providers, and Groups Read. Stored encrypted; it is never
            shown again.
          </span>
        </label>
        <label>
          Account ID
          <input
            name="accountId"
            autoComplete="off"
            spellCheck={false}
            className="mono"
            value={accountId}
            onChange={(event) => {
              setAccountId(event.target.value);
              if (outcome !== null && outcome.kind !== 'added') setOutcome(null);
            }}
          />
          <span className="help">
            The 32-character id in the dashboard URL: dash.cloudflare.com/&lt;account id&gt;/…
          </span>
        </label>
        <label>
          Source Name
          <input name="sourceName" value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        {problems.length === 0 ? null : (
          <ul className="error" role="alert">
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        )}
        <div className="actions">
          <button type="button" onClick={runTest} disabled={busy}>
            Test connection
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Testing connection…' : 'Test connection and add'}
          </button>
          <button type="button" className="quiet" onClick={() => setStep('integration')} disabled={busy}>
            Back
          </button>
          <button type="button" className="quiet" onClick={onCancel} disabled={busy}>
            {outcome?.kind === 'added' ? 'Close' : 'Cancel'}
          </button>
        </div>
      </form>
      {outcome === null ? null : (
        <div className="outcome" aria-live="polite">
          <p
            className={outcome.kind === 'refused' ? 'error' : 'ok-text'}
            role={outcome.kind === 'refused' ? 'alert' : 'status'}
          >
            {displayText(outcome.message)}
          </p>
          {outcome.report === null ? null : (
            <ConnectionTable report={outcome.report} caption="Connection test: what this token can read" />
          )}
        </div>
      )}
    </section>
  );
}

function refusal(failure: unknown, fallback: string): Outcome {
  if (!(failure instanceof ApiError)) return { kind: 'refused', message: fallback, report: null };
  const rows = datasetChecksIn(failure.details);
  return {
    kind: 'refused',
    message: errorText(failure, fallback),
    report: rows === null ? null : { datasets: rows },
  };
}
