import {
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type KeyboardEvent,
  type MouseEvent,
  type ReactNode,
} from 'react';
import { createPortal } from 'react-dom';
import { exploreSearch } from '../explore-state.js';
import { displayText } from '../format.js';
import { fieldClause } from '../query-edit.js';
import { navigate, timelinePath, type TimelineKind } from '../router.js';

/** What a value menu does, given the field and the value: the Explore page narrows or widens its query. */
export interface ValueActions {
  filter(field: string, value: string, negate: boolean): void;
  /** The range a pivot to another Explore search keeps. */
  readonly range: { readonly from: string; readonly to: string };
}

// Fields whose values have a timeline page, and which one.
const TIMELINES: Readonly<Record<string, TimelineKind>> = { user: 'user', src_ip: 'ip', app: 'app', app_uid: 'app' };
const KIND_WORDS: Readonly<Record<TimelineKind, string>> = {
  user: 'user',
  ip: 'IP address',
  app: 'application',
  device: 'device',
};

/** Where "pivot" goes for a value: its timeline when the field has one, otherwise an Explore search for it alone. */
export function pivotTarget(
  field: string,
  value: string,
  range: ValueActions['range'],
  timelineValue?: string,
): { readonly href: string; readonly label: string } {
  const kind = TIMELINES[field];
  if (kind !== undefined) {
    return { href: timelinePath(kind, timelineValue ?? value), label: `Timeline of this ${KIND_WORDS[kind]}` };
  }
  const search = exploreSearch({ q: fieldClause(field, value), ...range, event: null, columns: null });
  return { href: `/explore${search}`, label: 'Search only this value' };
}

export interface ValueMenuProps {
  readonly field: string;
  /** The field as people read it, for the button's label. */
  readonly label: string;
  readonly value: string;
  readonly actions: ValueActions;
  /** The value a timeline is keyed by, when it differs (an application's id rather than its name). */
  readonly timelineValue?: string | undefined;
}

/**
 * A small button beside a value that opens "filter for / filter out / pivot". The button has no text of its
 * own (its glyph comes from CSS), so the cell or field it sits in reads as the value alone; the menu is put at
 * the end of the page, outside any table row, and every value in it is text.
 */
export function ValueMenu({ field, label, value, actions, timelineValue }: ValueMenuProps): ReactNode {
  const [open, setOpen] = useState<{ readonly top: number; readonly left: number } | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    if (open !== null) menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
  }, [open]);

  useEffect(() => {
    if (open === null) return;
    const close = (event: Event): void => {
      if (
        event.target instanceof Node &&
        (menu.current?.contains(event.target) || button.current?.contains(event.target))
      )
        return;
      setOpen(null);
    };
    // Scrolling the table moves the button away from a menu placed at fixed coordinates.
    const closeOnScroll = (event: Event): void => {
      if (event.target instanceof Node && menu.current?.contains(event.target)) return;
      setOpen(null);
    };
    document.addEventListener('mousedown', close);
    window.addEventListener('scroll', closeOnScroll, true);
    window.addEventListener('resize', closeOnScroll);
    return () => {
      document.removeEventListener('mousedown', close);
      window.removeEventListener('scroll', closeOnScroll, true);
      window.removeEventListener('resize', closeOnScroll);
    };
  }, [open]);

  const toggle = (click: MouseEvent<HTMLButtonElement>): void => {
    // The button sits in a clickable row; opening the menu must not also open the event.
    click.stopPropagation();
    if (open !== null) {
      setOpen(null);
      return;
    }
    const rect = click.currentTarget.getBoundingClientRect();
    const width = 240;
    setOpen({ top: rect.bottom + 2, left: Math.max(8, Math.min(rect.left, window.innerWidth - width - 8)) });
  };

  const closeAndFocus = (): void => {
    setOpen(null);
    button.current?.focus();
  };

  const onMenuKey = (key: KeyboardEvent<HTMLDivElement>): void => {
    key.stopPropagation();
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.findIndex((item) => item === document.activeElement);
    if (key.key === 'Escape') {
      key.preventDefault();
      closeAndFocus();
    } else if (key.key === 'ArrowDown' || key.key === 'ArrowUp') {
      key.preventDefault();
      const step = key.key === 'ArrowDown' ? 1 : -1;
      items[(at + step + items.length) % items.length]?.focus();
    } else if (key.key === 'Tab') {
      setOpen(null);
    }
  };

  const pivot = pivotTarget(field, value, actions.range, timelineValue);
  const run = (action: () => void) => (click: MouseEvent<HTMLElement>) => {
    click.stopPropagation();
    setOpen(null);
    action();
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        className="value-menu-button"
        aria-label={`Actions for ${label}`}
        aria-haspopup="menu"
        aria-expanded={open !== null}
        onClick={toggle}
        onKeyDown={(key) => key.stopPropagation()}
      />
      {open === null
        ? null
        : createPortal(
            <div
              ref={menu}
              className="value-menu"
              role="menu"
              aria-label={`${label} value`}
              style={{ top: open.top, left: open.left }}
              onKeyDown={onMenuKey}
              onClick={(click) => click.stopPropagation()}
            >
              <p className="value-menu-value mono">{displayText(value)}</p>
              <button type="button" role="menuitem" onClick={run(() => actions.filter(field, value, false))}>
                Filter for this value
              </button>
              <button type="button" role="menuitem" onClick={run(() => actions.filter(field, value, true))}>
                Filter out this value
              </button>
              <a
                role="menuitem"
                href={pivot.href}
                onClick={(click) => {
                  click.stopPropagation();
                  if (click.metaKey || click.ctrlKey || click.shiftKey || click.button !== 0) return;
                  click.preventDefault();
                  setOpen(null);
                  navigate(pivot.href);
                }}
              >
                {pivot.label}
              </a>
            </div>,
            document.body,
          )}
    </>
  );
}
