import type { ReactNode } from 'react';

export interface ConfirmButtonProps {
  /** Whether the question is showing instead of the button. */
  readonly open: boolean;
  readonly busy: boolean;
  /** The dialog's accessible name, the question itself. */
  readonly question: string;
  /** What happens, in words, above the two answers. */
  readonly children: ReactNode;
  readonly confirmLabel: string;
  readonly buttonLabel: string;
  readonly buttonAriaLabel: string;
  readonly onOpen: () => void;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}

/** A destructive action that asks first: the button, or in its place the question with Confirm and Cancel. */
export function ConfirmButton(props: ConfirmButtonProps): ReactNode {
  if (!props.open) {
    return (
      <button
        type="button"
        className="danger"
        disabled={props.busy}
        aria-label={props.buttonAriaLabel}
        onClick={props.onOpen}
      >
        {props.buttonLabel}
      </button>
    );
  }
  return (
    <div className="confirm" role="alertdialog" aria-label={props.question}>
      <p>{props.children}</p>
      <div className="actions">
        <button type="button" className="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" className="quiet" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
