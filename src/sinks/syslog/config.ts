import { isIP } from 'node:net';
import { z } from 'zod';
import type { Severity } from '../../store/detection-store.js';
import { minSeveritySchema, notifyTimeoutSchema, targetNameSchema } from '../severity-threshold.js';
import { numberSetting } from '../../core/number-setting.js';

/** RFC 5424 §6.2.1 facility codes a security product may reasonably log under. */
export const SYSLOG_FACILITIES = {
  user: 1,
  auth: 4,
  authpriv: 10,
  security: 13,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

const FACILITY_NAMES = Object.keys(SYSLOG_FACILITIES) as [SyslogFacility, ...SyslogFacility[]];

// A port written into the host (`siem.example.com:6514`) would otherwise pass here and fail every delivery as a
// name that does not resolve.
const hostSchema = z
  .string()
  .min(1)
  .superRefine((host, ctx) => {
    const problem = hostProblem(host);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

function hostProblem(host: string): string | undefined {
  if (/\s/.test(host)) return 'expected a host name or an IP address, without spaces';
  if (host.includes('://')) return 'expected a host name or an IP address, not a URL; set port and tls on their own';
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(host);
  if (bracketed !== null) {
    return bracketed[2] === undefined
      ? `write the IPv6 address without brackets: ${bracketed[1] ?? ''}`
      : `must not include a port; write host: ${bracketed[1] ?? ''} and port: ${bracketed[2]}`;
  }
  if (isIP(host) !== 0 || !host.includes(':')) return undefined;
  const withPort = /^([^:]+):(\d+)$/.exec(host);
  return withPort === null
    ? 'expected a host name or an IP address'
    : `must not include a port; write host: ${withPort[1] ?? ''} and port: ${withPort[2] ?? ''}`;
}

/** One `notify.targets` entry of type `syslog`, as users write it. */
export const syslogTargetSchema = z
  .object({
    type: z.literal('syslog'),
    name: targetNameSchema,
    host: hostSchema,
    // 6514 is syslog over TLS (RFC 5425), 601 syslog over plain TCP (RFC 6587); the default follows `tls`.
    port: numberSetting((n) => n.int().min(1).max(65_535)).optional(),
    // Alerts name users and addresses, so they cross the network encrypted unless the operator says otherwise.
    tls: z.boolean().default(true),
    // A collector with a private CA is trusted through this file, in addition to the system's CAs.
    ca_file: z.string().min(1).optional(),
    // Collectors usually route local0 to security tooling; pick another to fit your syslog routing.
    facility: z.enum(FACILITY_NAMES).default('local0'),
    // 32473 is the enterprise number reserved for documentation (RFC 5612); set your own for production parsers.
    sd_id: z
      .string()
      .regex(/^[!#-<>-\\^-~]{1,32}$/, 'expected 1 to 32 printable ASCII characters without space, =, ] or "')
      .default('zerotrail@32473'),
    min_severity: minSeveritySchema,
    timeout_ms: notifyTimeoutSchema,
  })
  .strict()
  .transform((raw): SyslogTargetConfig => ({
    type: 'syslog',
    name: raw.name,
    host: raw.host,
    port: raw.port ?? (raw.tls ? 6514 : 601),
    tls: raw.tls,
    ...(raw.ca_file === undefined ? {} : { caFile: raw.ca_file }),
    facility: raw.facility,
    sdId: raw.sd_id,
    minSeverity: raw.min_severity,
    timeoutMs: raw.timeout_ms,
  }));

export interface SyslogTargetConfig {
  readonly type: 'syslog';
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly caFile?: string;
  readonly facility: SyslogFacility;
  readonly sdId: string;
  readonly minSeverity: Severity;
  readonly timeoutMs: number;
}
