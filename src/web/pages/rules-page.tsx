import { useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type SignedInUser } from '../api-client.js';
import { displayText, formatTime } from '../format.js';
import { AlertsClient, type AllowList, type Rule, type RuleOverride } from './alerts-client.js';
import { techniqueUrl } from './alerts-page.js';
import { Messages } from './messages.js';

export interface RulesPageProps {
  readonly api: ApiClient;
  readonly user: SignedInUser;
}

const EMPTY_ALLOW: AllowList = { users: [], ips: [], apps: [], countries: [] };

const ALLOW_KINDS = [
  { key: 'users', label: 'Users' },
  { key: 'ips', label: 'IP addresses or CIDR ranges' },
  { key: 'apps', label: 'Applications' },
  { key: 'countries', label: 'Countries' },
] as const;

const ORIGIN_LABELS: Readonly<Record<Rule['origin'], string>> = {
  builtin: 'built-in',
  file: 'rule file',
  custom: 'added',
};

// Which fields make up one alert's entity: changing them changes what the rule keeps state for, so it is shown
// but not offered in the tuning form.
const STRUCTURAL_LISTS = new Set(['group_by']);

function messageOf(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

function isTextList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

/** Parameters an operator can tune in a form: the scalar ones (thresholds, windows, counts). */
function scalarParams(rule: Rule): readonly [string, string | number | boolean][] {
  const merged = { ...rule.params, ...rule.overrides };
  return Object.entries(merged).filter(
    (entry): entry is [string, string | number | boolean] =>
      typeof entry[1] === 'number' || typeof entry[1] === 'string' || typeof entry[1] === 'boolean',
  );
}

/** List parameters an operator can tune, such as the applications a first-seen rule watches. */
function listParams(rule: Rule): readonly [string, readonly string[]][] {
  const merged = { ...rule.params, ...rule.overrides };
  return Object.entries(merged).filter(
    (entry): entry is [string, readonly string[]] => isTextList(entry[1]) && !STRUCTURAL_LISTS.has(entry[0]),
  );
}

function sameValue(left: unknown, right: unknown): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

function valueText(value: unknown): string {
  if (value === undefined) return 'not set';
  if (isTextList(value)) return value.length === 0 ? 'none' : displayText(value.join(', '));
  return displayText(typeof value === 'string' ? value : JSON.stringify(value));
}

function listText(values: readonly string[]): string {
  return values.join('\n');
}

function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

/** The detection rules: built-in and added ones, whether they run, their tuning, and adding one from YAML. */
export function RulesPage({ api, user }: RulesPageProps): ReactNode {
  const client = useMemo(() => new AlertsClient(api), [api]);
  const [rules, setRules] = useState<readonly Rule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const isAdmin = user.role === 'admin';

  const load = useCallback(() => {
    client.listRules().then(
      (list) => {
        setRules(list);
        setError(null);
      },
      (failure: unknown) => setError(messageOf(failure, 'The rules could not be loaded.')),
    );
  }, [client]);
  useEffect(load, [load]);

  const replace = (rule: Rule): void =>
    setRules((current) => current?.map((candidate) => (candidate.id === rule.id ? rule : candidate)) ?? null);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Detection rules</h1>
      </div>
      {isAdmin ? null : <p className="muted">Only an admin can enable, disable or tune rules.</p>}
      <Messages error={error} />
      {rules === null ? <p className="muted">Loading…</p> : null}
      {rules?.map((rule) => (
        <RuleCard key={rule.id} rule={rule} client={client} isAdmin={isAdmin} onChanged={replace} />
      ))}
      {isAdmin ? <AddRuleForm client={client} onAdded={load} /> : null}
    </div>
  );
}

function RuleCard({
  rule,
  client,
  isAdmin,
  onChanged,
}: {
  rule: Rule;
  client: AlertsClient;
  isAdmin: boolean;
  onChanged: (rule: Rule) => void;
}): ReactNode {
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [tuning, setTuning] = useState(false);
  const attack = techniqueUrl(rule.technique);

  const run = (work: () => Promise<Rule>, done: string): void => {
    setBusy(true);
    work().then(
      (updated) => {
        setBusy(false);
        setError(null);
        setNotice(done);
        onChanged(updated);
      },
      (failure: unknown) => {
        setBusy(false);
        setNotice(null);
        setError(messageOf(failure, 'The rule could not be changed.'));
      },
    );
  };

  return (
    <section className="card rule-card" id={rule.id} aria-label={`Rule ${rule.id}`}>
      <div className="page-head">
        <h2>{displayText(rule.title)}</h2>
        <span className="badges">
          <span className={`badge severity-${rule.severity}`}>{rule.severity}</span>
          <span className="badge">{ORIGIN_LABELS[rule.origin]}</span>
          <span className={rule.enabled ? 'badge good' : 'badge'} aria-label={`State of ${rule.id}`}>
            {rule.enabled ? 'enabled' : 'disabled'}
          </span>
        </span>
      </div>
      <p className="muted">
        <span className="mono">{displayText(rule.id)}</span> · {displayText(rule.type)} ·{' '}
        {attack === null ? (
          displayText(rule.technique)
        ) : (
          <a href={attack} target="_blank" rel="noopener noreferrer">
            {rule.technique}
          </a>
        )}
      </p>
      <p>{displayText(rule.description)}</p>
      {rule.origin === 'custom' ? (
        <p className="muted">Added through the API; it runs on every node from the next evaluated batch on.</p>
      ) : null}
      <TuningInEffect rule={rule} />
      <Messages error={error} notice={notice} noticeStyle="text" />
      {isAdmin ? (
        <div className="actions">
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              run(
                () => client.setRuleEnabled(rule.id, !rule.enabled),
                rule.enabled ? 'Rule disabled.' : 'Rule enabled.',
              )
            }
          >
            {rule.enabled ? `Disable ${rule.id}` : `Enable ${rule.id}`}
          </button>
          <button type="button" className="quiet" onClick={() => setTuning((open) => !open)}>
            {tuning ? 'Hide tuning' : `Tune ${rule.id}`}
          </button>
        </div>
      ) : null}
      {isAdmin && tuning ? (
        <TuningForm
          // A fresh form after a reset shows the rule file's values again.
          key={rule.updatedAt ?? 'file'}
          rule={rule}
          busy={busy}
          onSave={(settings) => run(() => client.saveRuleSettings(rule.id, settings), 'Tuning saved.')}
          onReset={() =>
            run(
              () => client.saveRuleSettings(rule.id, { overrides: {}, allow: EMPTY_ALLOW }),
              'Tuning reset to the rule file.',
            )
          }
        />
      ) : null}
    </section>
  );
}

/** What an operator changed from the rule file, for every role to read: who, when, and each value in effect. */
function TuningInEffect({ rule }: { rule: Rule }): ReactNode {
  const overrides = Object.entries(rule.overrides);
  const allowed = ALLOW_KINDS.filter((kind) => rule.allow[kind.key].length > 0);
  const groupBy = rule.overrides['group_by'] ?? rule.params['group_by'];
  return (
    <>
      {isTextList(groupBy) && groupBy.length > 0 ? (
        <p className="muted">One alert per {displayText(groupBy.join(' and '))}.</p>
      ) : null}
      {overrides.length === 0 && allowed.length === 0 ? null : (
        <div className="rule-in-effect">
          <p className="muted">
            Tuned{rule.updatedBy === null ? '' : ` by ${displayText(rule.updatedBy)}`}
            {rule.updatedAt === null ? '' : `, ${formatTime(rule.updatedAt)}`}:
          </p>
          <dl aria-label={`Tuning in effect for ${rule.id}`}>
            {overrides.map(([name, value]) => (
              <div key={name}>
                <dt>{displayText(name)}</dt>
                <dd>
                  {valueText(value)} <span className="muted">(rule file: {valueText(rule.params[name])})</span>
                </dd>
              </div>
            ))}
            {allowed.map((kind) => (
              <div key={kind.key}>
                <dt>Allowed {kind.label.toLowerCase()}</dt>
                <dd>{displayText(rule.allow[kind.key].join(', '))}</dd>
              </div>
            ))}
          </dl>
        </div>
      )}
    </>
  );
}

function TuningForm({
  rule,
  busy,
  onSave,
  onReset,
}: {
  rule: Rule;
  busy: boolean;
  onSave: (settings: { overrides: Record<string, RuleOverride>; allow: AllowList }) => void;
  onReset: () => void;
}): ReactNode {
  const params = scalarParams(rule);
  const lists = listParams(rule);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(params.map(([name, value]) => [name, String(value)])),
  );
  const [listValues, setListValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(lists.map(([name, value]) => [name, listText(value)])),
  );
  const tuned = Object.keys(rule.overrides).length > 0 || ALLOW_KINDS.some((kind) => rule.allow[kind.key].length > 0);
  const [allow, setAllow] = useState<Record<keyof AllowList, string>>(() => ({
    users: listText(rule.allow.users),
    ips: listText(rule.allow.ips),
    apps: listText(rule.allow.apps),
    countries: listText(rule.allow.countries),
  }));

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const overrides: Record<string, RuleOverride> = { ...rule.overrides } as Record<string, RuleOverride>;
    for (const [name, original] of params) {
      const text = (values[name] ?? '').trim();
      const fileValue = rule.params[name];
      // Only values that differ from the rule file become overrides, typed like the file's value.
      const typed: string | number | boolean =
        typeof original === 'number' && text !== '' && !Number.isNaN(Number(text))
          ? Number(text)
          : typeof original === 'boolean'
            ? text === 'true'
            : text;
      if (typed === fileValue) delete overrides[name];
      else overrides[name] = typed;
    }
    for (const [name] of lists) {
      const entries = parseList(listValues[name] ?? '');
      if (sameValue(entries, rule.params[name])) delete overrides[name];
      else overrides[name] = entries;
    }
    onSave({
      overrides,
      allow: {
        users: parseList(allow.users),
        ips: parseList(allow.ips),
        apps: parseList(allow.apps),
        countries: parseList(allow.countries),
      },
    });
  };

  return (
    <form className="rule-tuning" aria-label={`Tuning of ${rule.id}`} onSubmit={submit}>
      {params.length === 0 ? null : (
        <fieldset>
          <legend>Parameters</legend>
          {params.map(([name]) => (
            <label key={name}>
              {name}
              <input
                value={values[name] ?? ''}
                maxLength={200}
                onChange={(event) => setValues((current) => ({ ...current, [name]: event.target.value }))}
              />
            </label>
          ))}
        </fieldset>
      )}
      {lists.length === 0 ? null : (
        <fieldset>
          <legend>Lists (one entry a line)</legend>
          {lists.map(([name]) => (
            <label key={name}>
              {name}
              {rule.params[name] === undefined ? null : (
                <span className="muted"> (rule file: {valueText(rule.params[name])})</span>
              )}
              <textarea
                rows={3}
                value={listValues[name] ?? ''}
                onChange={(event) => setListValues((current) => ({ ...current, [name]: event.target.value }))}
              />
            </label>
          ))}
        </fieldset>
      )}
      <fieldset>
        <legend>Allow-list (one entry a line; events matching any are ignored)</legend>
        {ALLOW_KINDS.map((kind) => (
          <label key={kind.key}>
            {kind.label}
            {rule.fileAllow[kind.key].length === 0 ? null : (
              <span className="muted"> (the rule file adds {displayText(rule.fileAllow[kind.key].join(', '))})</span>
            )}
            <textarea
              rows={2}
              value={allow[kind.key]}
              onChange={(event) => setAllow((current) => ({ ...current, [kind.key]: event.target.value }))}
            />
          </label>
        ))}
      </fieldset>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Save tuning
        </button>
        {tuned ? (
          <button type="button" className="quiet" disabled={busy} onClick={onReset}>
            Reset to the rule file
          </button>
        ) : null}
      </div>
    </form>
  );
}

function AddRuleForm({ client, onAdded }: { client: AlertsClient; onAdded: () => void }): ReactNode {
  const [yaml, setYaml] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    client.addRule(yaml).then(
      (rule) => {
        setBusy(false);
        setError(null);
        setNotice(`Rule ${rule.id} added.`);
        setYaml('');
        onAdded();
      },
      (failure: unknown) => {
        setBusy(false);
        setNotice(null);
        setError(messageOf(failure, 'The rule could not be added.'));
      },
    );
  };

  return (
    <section className="card">
      <h2>Add a rule</h2>
      <p className="muted">Paste a rule in the YAML format of docs/detections.md; every field is checked.</p>
      <form aria-label="Add rule" onSubmit={submit}>
        <label>
          Rule YAML
          <textarea
            className="mono rule-yaml"
            rows={12}
            value={yaml}
            spellCheck={false}
            onChange={(event) => setYaml(event.target.value)}
            aria-invalid={error !== null}
            aria-describedby={error === null ? undefined : 'rule-yaml-error'}
          />
        </label>
        <Messages error={error} errorId="rule-yaml-error" notice={notice} noticeStyle="text" />
        <button type="submit" disabled={busy || yaml.trim() === ''}>
          Add rule
        </button>
      </form>
    </section>
  );
}
