import { useEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';

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

/**
 * A destructive action that asks first: the button, or in its place the question with Confirm and Cancel. The
 * question takes the focus on its safe answer, so Enter pressed out of habit cancels; Escape cancels too, and
 * focus goes back to the button that asked, instead of falling to the page when the question disappears.
 */
export function ConfirmButton(props: ConfirmButtonProps): ReactNode {
  const trigger = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);

  useEffect(() => {
    if (props.open) {
      cancelButton.current?.focus();
      returnFocus.current = true;
    } else if (returnFocus.current) {
      returnFocus.current = false;
      trigger.current?.focus();
    }
  }, [props.open]);

  if (!props.open) {
    return (
      <button
        ref={trigger}
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
    <div
      className="confirm"
      role="alertdialog"
      aria-label={props.question}
      onKeyDown={(key: KeyboardEvent<HTMLDivElement>) => {
        if (key.key !== 'Escape') return;
        key.preventDefault();
        props.onCancel();
      }}
    >
      <p>{props.children}</p>
      <div className="actions">
        <button type="button" className="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button ref={cancelButton} type="button" className="quiet" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
