import type { ReactNode } from 'react';
import { displayText } from '../format.js';

export interface MessagesProps {
  /** What went wrong; read out at once (an alert). Nothing is shown for null. */
  readonly error?: string | null;
  /** What just happened; read out when the reader is idle (a status). Nothing is shown for null. */
  readonly notice?: string | null;
  /** A notice as a tinted box (page and card messages) or as a line of green text (beside a form or an action). */
  readonly noticeStyle?: 'box' | 'text';
  /** An id for the error, so a field can point at it with aria-describedby. */
  readonly errorId?: string;
}

/**
 * The error and notice lines of a page, card or form, with the roles screen readers announce them by. Both often
 * quote what a user typed or an event held, so they are shown through displayText.
 */
export function Messages({ error = null, notice = null, noticeStyle = 'box', errorId }: MessagesProps): ReactNode {
  return (
    <>
      {error === null ? null : (
        <p className="error" role="alert" id={errorId}>
          {displayText(error)}
        </p>
      )}
      {notice === null ? null : (
        <p className={noticeStyle === 'box' ? 'notice' : 'ok-text'} role="status">
          {displayText(notice)}
        </p>
      )}
    </>
  );
}
