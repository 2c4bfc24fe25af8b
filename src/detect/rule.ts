import type { z } from 'zod';
import type { NormalizedEvent } from '../core/event.js';
import type { AlertEntity, EvidenceRef, RuleAllowList, Severity } from '../store/detection-store.js';
import type { EventPredicate } from './match.js';

/** The part of a rule every type shares, parsed from its file (see docs/detections.md). */
export interface RuleHeader {
  readonly id: string;
  readonly title: string;
  readonly type: string;
  readonly severity: Severity;
  readonly technique: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly suppressMs: number;
  readonly summary: string;
  readonly allow: RuleAllowList;
}

/** The state one rule keeps per key, read and written synchronously while a batch is evaluated. */
export interface StateView {
  get(key: string): unknown;
  /** `undefined` forgets the key. */
  set(key: string, value: unknown): void;
}

/** What a rule may ask about the inventory: why a user is inactive, or null when the user is not known inactive. */
export interface InventoryView {
  inactiveUser(sourceName: string, user: string, atMs: number): string | null;
}

/** Stored events, as a rule reads them back (see `RuleLogic.recall`). */
export interface StoredEvents {
  /** The stored events of `user` (any case) from `fromMs` on, oldest first, read as far as the caller goes. */
  ofUser(user: string, fromMs: number): AsyncIterable<NormalizedEvent>;
}

export interface EvalContext {
  readonly inventory: InventoryView;
  /** Absent where events are evaluated in event-time order from the start (a replay): nothing is late there. */
  readonly stored?: StoredEvents;
  /** What `recall` read for the event being evaluated, less what the rule's match and allow-list leave out. */
  readonly recalled?: readonly NormalizedEvent[];
}

/** A rule type's conclusion about one event, before the common header turns it into an alert firing. */
export interface RawFiring {
  readonly entityKey: string;
  readonly entity: AlertEntity;
  readonly evidence: readonly EvidenceRef[];
  /** Values for the summary template's placeholders. */
  readonly vars: Readonly<Record<string, string | number | null>>;
  /** Replaces the rule's severity (an escalation). */
  readonly severity?: Severity;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The behaviour of one configured rule. Evaluation is synchronous over preloaded state. */
export interface RuleLogic {
  /** The state keys `evaluate` will read or write for this event. */
  stateKeys(event: NormalizedEvent): readonly string[];
  /**
   * Reads back stored events that this one, arriving late, changes the judgement of (the logins after a
   * deprovision evaluated after them), before the batch is evaluated; null, at no cost, for an event that needs
   * none. `evaluate` gets them as `context.recalled`.
   */
  recall?(event: NormalizedEvent, stored: StoredEvents): Promise<readonly NormalizedEvent[]> | null;
  evaluate(event: NormalizedEvent, state: StateView, context: EvalContext): readonly RawFiring[];
}

/** One kind of rule: its parameters (a strict zod object), summary placeholders and behaviour. */
export interface RuleType<P> {
  readonly params: z.ZodType<P>;
  readonly variables: readonly string[];
  create(params: P): RuleLogic;
}

/** A rule type with its parameter type erased, as the registry holds it. */
export interface RegisteredRuleType {
  readonly params: z.ZodType<unknown>;
  readonly variables: readonly string[];
  create(params: unknown): RuleLogic;
}

export function registerRuleType<P>(type: RuleType<P>): RegisteredRuleType {
  return {
    params: type.params,
    variables: type.variables,
    // The caller passes only what `params` parsed, so the value has type P.
    create: (params) => type.create(params as P),
  };
}

/** A rule ready to run: header, compiled match, and the type's logic built from the effective parameters. */
export interface CompiledRule {
  readonly header: RuleHeader;
  readonly match: EventPredicate;
  readonly logic: RuleLogic;
  /** Where the rule came from (a file path), for messages. */
  readonly origin: string;
}
