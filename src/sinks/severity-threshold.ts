import { z } from 'zod';
import { SEVERITIES } from '../store/detection-store.js';
import { numberSetting } from '../core/number-setting.js';

// Medium and up reaches people for what a SOC triages the same day, without the noise of low alerts.
export const minSeveritySchema = z.enum(SEVERITIES).default('medium');

// Long enough for a loaded chat service or SIEM, short enough that a hung receiver is noticed within a minute.
export const notifyTimeoutSchema = numberSetting((n) => n.int().min(100).max(120_000)).default(10_000);

/** Target names key the durable offsets, so they stay short and plain. */
export const targetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, _ and -, at most 63 characters');
