import type { RegisteredRuleType } from '../rule.js';
import { sigmaRuleType } from '../sigma/sigma-rule.js';
import { deprovisionedLoginRule } from './deprovisioned-login.js';
import { firstSeenRule } from './first-seen.js';
import { impossibleTravelRule } from './impossible-travel.js';
import { rateSpikeRule } from './rate-spike.js';
import { sequenceRule } from './sequence.js';
import { singleEventRule } from './single-event.js';
import { thresholdRule } from './threshold.js';

/** Every rule type by the name a rule file's `type` uses. A new type is one file and one line here. */
export const RULE_TYPES = {
  event: singleEventRule,
  threshold: thresholdRule,
  sequence: sequenceRule,
  rate_spike: rateSpikeRule,
  first_seen: firstSeenRule,
  deprovisioned_login: deprovisionedLoginRule,
  impossible_travel: impossibleTravelRule,
  sigma: sigmaRuleType,
} as const satisfies Record<string, RegisteredRuleType>;

export type RuleTypeName = keyof typeof RULE_TYPES;
