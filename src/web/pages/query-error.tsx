import type { ReactNode } from 'react';
import type { ApiError } from '../api-client.js';

export interface QueryErrorProps {
  readonly query: string;
  readonly error: ApiError;
}

/** A query the API refused, with the place it points at marked in the query text. */
export function QueryError({ query, error }: QueryErrorProps): ReactNode {
  const column = error.details['column'];
  const at = typeof column === 'number' && column >= 1 && column <= query.length + 1 ? column - 1 : null;
  return (
    <div className="query-error" role="alert">
      <p className="error">{error.message}</p>
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
