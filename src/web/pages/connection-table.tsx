import type { ReactNode } from 'react';
import type { ConnectionReport, DatasetCheck } from '../api-client.js';
import { datasetStatus } from '../../core/dataset-status.js';
import { displayText, formatTime, MISSING } from '../format.js';

export interface ConnectionTableProps {
  /** A full report, or only its rows (as a refused add returns them). */
  readonly report: ConnectionReport | { readonly datasets: readonly DatasetCheck[] };
  readonly caption: string;
}

/** The connection test, one row per dataset: can it be collected, and which permission it needs. */
export function ConnectionTable({ report, caption }: ConnectionTableProps): ReactNode {
  const full = 'token' in report ? report : null;
  return (
    <div className="connection">
      {full === null ? null : (
        <p className={full.requiredMissing ? 'error' : 'ok-text'}>
          {full.requiredMissing
            ? 'The token lacks a permission zerotrail needs; see the rows marked "missing".'
            : `The token is ${displayText(full.token.status)}${full.token.expiresOn === null ? '' : ` until ${formatTime(full.token.expiresOn)}`} and reaches the account.`}
        </p>
      )}
      {full?.warnings.map((warning) => (
        <p key={warning} className="warning">
          Warning: {displayText(warning)}
        </p>
      ))}
      <div className="table-scroll">
        <table className="grid" aria-label={caption}>
          <caption>{displayText(caption)}</caption>
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Status</th>
              <th scope="col">Permission</th>
              <th scope="col">Need</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {report.datasets.map((row) => (
              <tr key={row.dataset}>
                <td className="mono">{displayText(row.dataset)}</td>
                <td>
                  <span
                    className={`badge ${row.ok ? 'good' : row.required && row.state === 'permission_missing' ? 'bad' : 'warn'}`}
                  >
                    {datasetStatus(row, 'missing')}
                  </span>
                </td>
                <td>{displayText(row.permission)}</td>
                <td>{row.required ? 'required' : 'optional'}</td>
                <td className="wrap">{row.ok ? MISSING : displayText(row.message)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
