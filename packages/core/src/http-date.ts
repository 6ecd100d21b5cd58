/**
 * HTTP dates (RFC 9110 §5.6.7), parsed strictly: the three forms a recipient must accept
 * (IMF-fixdate, obsolete RFC 850, ANSI C asctime) and nothing else — no time zone but GMT,
 * no extra spaces, no one-digit hours, no dashes in a four-digit-year date. `Date.parse`
 * accepts all of those and more (and depends on the engine), so it never reads a header here.
 */

const SHORT_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF = /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]{3})$/
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850 = /^([A-Za-z]{6,9}), (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]{3})$/
/** `Sun Nov  6 08:49:37 1994` (a one-digit day is padded with a space) */
const ASCTIME = /^([A-Za-z]{3}) ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/

/** Longer values are not dates (the longest valid form has 37 characters). */
const MAX_LENGTH = 64

export interface HttpDateOptions {
  /**
   * Match names (day, month, `GMT`) in any case. HTTP-date is case-sensitive, but a cache
   * SHOULD match case-insensitively when it computes freshness (RFC 9111 §4.2). Default `false`.
   */
  readonly caseInsensitive?: boolean
  /** "Now" for the RFC 850 two-digit-year rule. Default `Date.now()`. */
  readonly now?: number
}

function name(value: string, list: readonly string[], caseInsensitive: boolean): number {
  const lower = value.toLowerCase()
  const index = list.indexOf(lower)
  if (index === -1) return -1
  // Case-sensitive: exactly the capitalised form (`Sun`, `Nov`, `Sunday`).
  if (!caseInsensitive && value !== lower.charAt(0).toUpperCase() + lower.slice(1)) return -1
  return index
}

function gmt(zone: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? zone.toLowerCase() === 'gmt' : zone === 'GMT'
}

function build(
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  // Seconds may be 60 (a leap second, RFC 5322 §3.3): it counts as the next second.
  if (month < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined
  const ms = Date.UTC(year, month, day, h, m, s)
  // Reject 31 Feb and the like: the day must survive the round trip.
  const check = new Date(Date.UTC(year, month, day))
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined
  return ms
}

/**
 * Milliseconds since the epoch of an HTTP-date, or `undefined` when `value` is not one.
 * RFC 850 two-digit years more than 50 years in the future are read in the previous century
 * (RFC 9110 §5.6.7).
 */
export function parseHttpDate(value: unknown, options: HttpDateOptions = {}): number | undefined {
  if (typeof value !== 'string' || value.length > MAX_LENGTH) return undefined
  const text = value.trim()
  const ci = options.caseInsensitive === true
  let match = IMF.exec(text)
  if (match !== null) {
    const [, day, date, month, year, h, m, s, zone] = match as unknown as string[]
    if (name(day as string, SHORT_DAYS, ci) === -1 || !gmt(zone as string, ci)) return undefined
    return build(
      Number(year),
      name(month as string, MONTHS, ci),
      Number(date),
      Number(h),
      Number(m),
      Number(s),
    )
  }
  match = RFC850.exec(text)
  if (match !== null) {
    const [, day, date, month, yy, h, m, s, zone] = match as unknown as string[]
    if (name(day as string, LONG_DAYS, ci) === -1 || !gmt(zone as string, ci)) return undefined
    const nowYear = new Date(options.now ?? Date.now()).getUTCFullYear()
    let year = Math.floor(nowYear / 100) * 100 + Number(yy)
    if (year > nowYear + 50) year -= 100
    return build(year, name(month as string, MONTHS, ci), Number(date), Number(h), Number(m), Number(s))
  }
  match = ASCTIME.exec(text)
  if (match !== null) {
    const [, day, month, date, h, m, s, year] = match as unknown as string[]
    if (name(day as string, SHORT_DAYS, ci) === -1) return undefined
    return build(
      Number(year),
      name(month as string, MONTHS, ci),
      Number((date as string).trim()),
      Number(h),
      Number(m),
      Number(s),
    )
  }
  return undefined
}

/** An HTTP-date in the preferred IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString()
}

/**
 * {@link formatHttpDate} for one caller that formats many times a second: the text of the
 * last whole second is kept, so a busy path formats once a second (the date has no finer
 * resolution). Each call gives its own memo.
 */
export function createHttpDateFormat(): (ms: number) => string {
  let second = Number.NaN
  let text = ''
  return (ms) => {
    const s = Math.floor(ms / 1000)
    if (s !== second) {
      second = s
      text = formatHttpDate(ms)
    }
    return text
  }
}
