import type { ReactNode } from 'react';
import { displayText } from '../format.js';

export interface QueryErrorProps {
  readonly query: string;
  readonly message: string;
  /** 1-based, as the API reports it; null when the problem has no place. */
  readonly column: number | null;
}

/** A query the API refused, with the place it points at marked in the query text. */
export function QueryError({ query, message, column }: QueryErrorProps): ReactNode {
  const at = column !== null && column >= 1 && column <= query.length + 1 ? column - 1 : null;
  return (
    <div className="query-error" role="alert">
      <p className="error">{displayText(message)}</p>
      {at === null ? null : (
        <p className="mono pointer" aria-label={`Error at column ${at + 1}`}>
          <span>{query.slice(0, at)}</span>
          <mark>{at < query.length ? query.slice(at, at + 1) : ' '}</mark>
          <span>{query.slice(at + 1)}</span>
        </p>
      )}
    </div>
  );
}
