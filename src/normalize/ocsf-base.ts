import type { Outcome } from '../core/event.js';
import type { NormalizeMeta } from './schema.js';
import { OCSF_VERSION, OTHER_ACTIVITY_ID, ocsfTypeName, sanitizeValue, wellFormed } from './schema.js';

/** The class, activity and provenance facts every mapper supplies; `ocsfBase` turns them into OCSF attributes. */
export interface OcsfBaseSpec {
  readonly categoryUid: number;
  readonly categoryName: string;
  readonly classUid: number;
  readonly className: string;
  readonly activityId: number;
  readonly activityName: string;
  readonly time: number;
  readonly outcome: Outcome;
  readonly message: string;
  readonly meta: NormalizeMeta;
  /** `metadata.product.feature.name`: which part of Zero Trust the record comes from. */
  readonly feature: string;
  /** The time exactly as the record wrote it, when it wrote one. */
  readonly originalTime?: string | null;
  /** The record's own identifier (`metadata.uid`). */
  readonly uid?: string | null;
  /** The upstream's name for what happened (`metadata.event_code`). */
  readonly eventCode?: string | null;
  /** Where the record came from, when not the Cloudflare API directly. */
  readonly logProvider?: string;
  /** Which format of the upstream log the record had (`metadata.log_version`), where there are several. */
  readonly logVersion?: string;
  /**
   * The OCSF profiles whose attributes the event carries (`metadata.profiles`): a validator takes a profile's
   * attributes, such as `cloud`, as unknown unless the event names the profile.
   */
  readonly profiles?: readonly string[];
}

const STATUS = {
  success: { id: 1, name: 'Success' },
  failure: { id: 2, name: 'Failure' },
  unknown: { id: 0, name: 'Unknown' },
} as const satisfies Record<Outcome, { id: number; name: string }>;

// Same reasoning as for Access logins (docs/ocsf-mapping.md, Severity): one failed change is routine and
// matters in volume, which detection rules count; Low keeps it apart from successes without drowning them.
const SEVERITY = {
  success: { id: 1, name: 'Informational' },
  failure: { id: 2, name: 'Low' },
  unknown: { id: 1, name: 'Informational' },
} as const satisfies Record<Outcome, { id: number; name: string }>;

/**
 * The leading attributes of an OCSF event in the order the golden files show them: activity, category,
 * class, type, time, severity, status, message and metadata. Record values pass through `wellFormed`.
 */
export function ocsfBase(spec: OcsfBaseSpec): Record<string, unknown> {
  const activityName = wellFormed(spec.activityName);
  return {
    activity_id: spec.activityId,
    activity_name: activityName,
    category_uid: spec.categoryUid,
    category_name: spec.categoryName,
    class_uid: spec.classUid,
    class_name: spec.className,
    type_uid: spec.classUid * 100 + spec.activityId,
    type_name: ocsfTypeName(spec.className, spec.activityId, activityName),
    time: spec.time,
    severity_id: SEVERITY[spec.outcome].id,
    severity: SEVERITY[spec.outcome].name,
    status_id: STATUS[spec.outcome].id,
    status: STATUS[spec.outcome].name,
    message: wellFormed(spec.message),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Cloudflare Zero Trust', vendor_name: 'Cloudflare', feature: { name: spec.feature } },
      log_name: wellFormed(spec.meta.dataset),
      log_provider: spec.logProvider ?? 'Cloudflare API',
      tenant_uid: wellFormed(spec.meta.accountId),
      labels: [`source:${wellFormed(spec.meta.sourceName)}`],
      ...(spec.originalTime == null ? {} : { original_time: wellFormed(spec.originalTime) }),
      ...(spec.uid == null ? {} : { uid: wellFormed(spec.uid) }),
      ...(spec.eventCode == null || spec.eventCode === '' ? {} : { event_code: wellFormed(spec.eventCode) }),
      ...(spec.logVersion === undefined ? {} : { log_version: spec.logVersion }),
      ...(spec.profiles === undefined || spec.profiles.length === 0 ? {} : { profiles: [...spec.profiles] }),
    },
  };
}

/** A non-empty string field, or null. */
export function stringField(record: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * A value fit for `eventId`: primitives as they are, anything else through `sanitizeValue`, whose depth cap
 * keeps the canonical JSON of a hostile, absurdly nested value from exhausting the stack.
 */
export function identityPart(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return typeof value === 'object' ? sanitizeValue(value) : value;
}

/** The flat `activity` field: the OCSF activity name in lower case, words joined by `_`; `other` for 99. */
export function flatActivity(activityId: number, activityName: string): string {
  return activityId === OTHER_ACTIVITY_ID ? 'other' : activityName.toLowerCase().replace(/ /g, '_');
}
