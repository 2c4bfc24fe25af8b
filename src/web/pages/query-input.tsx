import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { ApiClient, FieldInfo } from '../api-client.js';
import { displayText } from '../format.js';
import { applyCompletion, completionContext, queryValue, type CompletionContext } from '../query-edit.js';

export interface QueryInputProps {
  readonly api: ApiClient;
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** The range value suggestions are counted over. */
  readonly range: { readonly from: string; readonly to: string };
  /** The first problem of the query as typed, with its 1-based column when known. */
  readonly error: { readonly message: string; readonly column: number | null } | null;
}

interface Suggestion {
  readonly key: string;
  /** The text that replaces the word under the caret. */
  readonly insert: string;
  readonly label: string;
  readonly detail: string;
}

const MAX_SUGGESTIONS = 10;
// Value suggestions for fields whose values are few and worth listing; ids and times are not.
const VALUE_FIELDS = new Set(['user', 'src_ip', 'country', 'app', 'idp', 'outcome', 'activity', 'dataset', 'source']);

/**
 * The query text box. It completes field names (and, after `field:`, the field's most frequent values in the
 * range) from a list under it, navigated with the arrow keys and taken with Tab or Enter; Escape closes it.
 * A query problem is marked at its column inside the box. Suggestions are plain text: values come from events.
 */
export function QueryInput({ api, value, onChange, range, error }: QueryInputProps): ReactNode {
  const listId = useId();
  const input = useRef<HTMLInputElement>(null);
  const mirror = useRef<HTMLDivElement>(null);
  const [fields, setFields] = useState<readonly FieldInfo[]>([]);
  const [context, setContext] = useState<CompletionContext | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [values, setValues] = useState<{ readonly key: string; readonly list: readonly string[] } | null>(null);
  const pendingCaret = useRef<number | null>(null);

  useEffect(() => {
    let current = true;
    api.fields().then(
      (list) => {
        if (current) setFields(list);
      },
      // Without the list the box still works; it only offers no completion.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [api]);

  const valueField =
    context?.kind === 'value' ? fields.find((field) => matchesName(field, context.field))?.name : undefined;
  const valuesKey = valueField === undefined ? null : `${valueField}|${range.from}|${range.to}`;

  useEffect(() => {
    if (valueField === undefined || valuesKey === null || !VALUE_FIELDS.has(valueField) || values?.key === valuesKey)
      return;
    let current = true;
    api.topValues(valueField, { from: range.from, to: range.to }, 50).then(
      (buckets) => {
        if (!current) return;
        const list = buckets.flatMap((bucket) => (bucket.key === null ? [] : [bucket.key]));
        setValues({ key: valuesKey, list });
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [api, valueField, valuesKey, values?.key, range.from, range.to]);

  useEffect(() => {
    const caret = pendingCaret.current;
    if (caret === null || input.current === null) return;
    pendingCaret.current = null;
    input.current.setSelectionRange(caret, caret);
    syncScroll();
  }, [value]);

  const suggestions = suggestionsFor(context, fields, valueField, values?.key === valuesKey ? values.list : []);
  const shown = open && suggestions.length > 0;

  const readCaret = (text: string): CompletionContext | null => {
    const caret = input.current?.selectionStart ?? text.length;
    const next = completionContext(text, caret);
    setContext(next);
    setActive(-1);
    syncScroll();
    return next;
  };

  const syncScroll = (): void => {
    if (mirror.current !== null && input.current !== null) mirror.current.scrollLeft = input.current.scrollLeft;
  };

  const accept = (suggestion: Suggestion): void => {
    if (context === null) return;
    const next = applyCompletion(value, context, suggestion.insert);
    pendingCaret.current = next.caret;
    onChange(next.text);
    setContext(completionContext(next.text, next.caret));
    setActive(-1);
    setOpen(true);
  };

  const onKeyDown = (key: KeyboardEvent<HTMLInputElement>): void => {
    if (key.key === 'ArrowDown' || key.key === 'ArrowUp') {
      if (!shown) {
        if (key.key === 'ArrowDown') {
          readCaret(value);
          setOpen(true);
          key.preventDefault();
        }
        return;
      }
      key.preventDefault();
      const step = key.key === 'ArrowDown' ? 1 : -1;
      const count = suggestions.length;
      // -1 is the text as typed: the arrows cycle through it and every suggestion.
      setActive(((active + 1 + step + count + 1) % (count + 1)) - 1);
      return;
    }
    if (!shown) return;
    const chosen = suggestions[active] ?? (key.key === 'Tab' ? suggestions[0] : undefined);
    if ((key.key === 'Enter' || key.key === 'Tab') && chosen !== undefined) {
      key.preventDefault();
      accept(chosen);
    } else if (key.key === 'Escape') {
      key.preventDefault();
      setOpen(false);
    }
  };

  const at = error?.column !== null && error?.column !== undefined && error.column >= 1 ? error.column - 1 : null;

  return (
    <div className="query-input">
      <div className="query-mirror mono" ref={mirror} aria-hidden="true">
        {at === null || at > value.length ? null : (
          <>
            <span>{value.slice(0, at)}</span>
            <mark>{at < value.length ? value.slice(at, at + 1) : ' '}</mark>
          </>
        )}
      </div>
      <input
        ref={input}
        name="q"
        aria-label="Query"
        className="mono"
        placeholder="Search events, e.g. user:alice@example.com AND outcome:failure"
        spellCheck={false}
        autoComplete="off"
        value={value}
        aria-invalid={error !== null}
        aria-describedby={error === null ? undefined : `${listId}-error`}
        aria-autocomplete="list"
        aria-controls={listId}
        aria-expanded={shown}
        aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
        onChange={(event) => {
          onChange(event.target.value);
          const next = readCaret(event.target.value);
          // Typing opens the list once there is something to complete; ArrowDown opens it on an empty word too.
          setOpen(next !== null && (next.kind === 'value' || next.prefix !== ''));
        }}
        onClick={() => readCaret(value)}
        onKeyUp={(key) => {
          if (key.key === 'ArrowLeft' || key.key === 'ArrowRight' || key.key === 'Home' || key.key === 'End')
            readCaret(value);
        }}
        onScroll={syncScroll}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
        onFocus={() => readCaret(value)}
      />
      {error === null ? null : (
        <span id={`${listId}-error`} className="sr-only">
          {displayText(error.message)}
        </span>
      )}
      <ul id={listId} role="listbox" aria-label="Suggestions" className="suggestions" hidden={!shown}>
        {shown
          ? suggestions.map((suggestion, index) => (
              <li
                key={suggestion.key}
                id={`${listId}-${index}`}
                role="option"
                aria-selected={index === active}
                className={index === active ? 'active' : undefined}
                // Keeps the focus in the box, so the list does not close before the click lands.
                onMouseDown={(event) => event.preventDefault()}
                onClick={() => accept(suggestion)}
              >
                <span className="mono">{displayText(suggestion.label)}</span>
                <span className="muted">{displayText(suggestion.detail)}</span>
              </li>
            ))
          : null}
      </ul>
    </div>
  );
}

function matchesName(field: FieldInfo, name: string): boolean {
  const lower = name.toLowerCase();
  return field.name === lower || field.aliases.includes(lower);
}

function suggestionsFor(
  context: CompletionContext | null,
  fields: readonly FieldInfo[],
  valueField: string | undefined,
  values: readonly string[],
): readonly Suggestion[] {
  if (context === null) return [];
  if (context.kind === 'field') {
    const prefix = context.prefix.toLowerCase();
    if (prefix === '') {
      return fields.map((field) => fieldSuggestion(field, field.name));
    }
    return fields
      .flatMap((field) => {
        const name = [field.name, ...field.aliases].find((candidate) => candidate.startsWith(prefix));
        return name === undefined || name === prefix ? [] : [fieldSuggestion(field, name)];
      })
      .slice(0, MAX_SUGGESTIONS);
  }
  if (valueField === undefined) return [];
  const prefix = context.prefix.toLowerCase();
  return values
    .filter((candidate) => candidate.toLowerCase().includes(prefix) && candidate.toLowerCase() !== prefix)
    .slice(0, MAX_SUGGESTIONS)
    .map((candidate) => ({
      key: `value:${candidate}`,
      insert: `${context.field}:${queryValue(candidate)}`,
      label: candidate,
      detail: '',
    }));
}

function fieldSuggestion(field: FieldInfo, name: string): Suggestion {
  return {
    key: `field:${name}`,
    insert: `${name}:`,
    label: name,
    detail: `${name === field.name ? '' : `${field.name} · `}${field.type} · ${field.description}`,
  };
}
