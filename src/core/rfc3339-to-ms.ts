// RFC 3339 §5.6 date-time. The "T" and "Z" may be lowercase (§5.6 NOTE); a space separator is tolerated
// because RFC 3339 permits it "for the sake of readability" and some exporters use it. So are an offset without
// its colon (ISO 8601's basic form), more than nine fractional digits and surrounding white space: a time that
// paging reads must be one the normalizers read too, or its record would be passed over and never stored.
const DATE_TIME =
  /^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))\s*$/;

/**
 * Parses an RFC 3339 timestamp with any offset and any number of fractional digits into epoch
 * milliseconds UTC. Digits beyond milliseconds are truncated, not rounded, so a value never moves into
 * the next millisecond. Returns null for text not shaped as a date-time or with a field no calendar reads
 * (see below); paging and the normalizers both read times through it.
 */
export function rfc3339ToMs(text: string): number | null {
  const match = DATE_TIME.exec(text);
  if (match === null) return null;
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  // A leap second (:60) is accepted by RFC 3339; it lands on the first millisecond of the next minute.
  const second = Number(s);
  // A day past its month's end (Feb 30) rolls into the next month and an offset is taken as written (+24:00), as
  // Date reads them: such a time has one reading, while refusing it would refuse its whole page on every retry.
  // Fields that no calendar reading fixes (month 13, hour 25) are refused.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offsetMinutes = 0;
  if (zulu === undefined) offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}
