import { createHttpDateFormat, formatHttpDate, parseHttpDate } from '@hotpath/core'

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37)
const NOW_2026 = Date.UTC(2026, 0, 1)

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  describe('accepts the three forms', () => {
    it('reads an IMF-fixdate', () => {
      expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(NOV_6_1994)
    })
    it('reads an RFC 850 date', () => {
      expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', { now: NOW_2026 })).toBe(NOV_6_1994)
    })
    it('reads an asctime date with a space-padded day', () => {
      expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(NOV_6_1994)
    })
    it('reads an asctime date with a two-digit day', () => {
      expect(parseHttpDate('Thu Aug 18 02:01:18 2050')).toBe(Date.UTC(2050, 7, 18, 2, 1, 18))
    })
    it('reads a date past 2038 (no 32-bit limit)', () => {
      expect(parseHttpDate('Sun, 21 Nov 2286 04:46:39 GMT')).toBe(Date.UTC(2286, 10, 21, 4, 46, 39))
    })
    it('ignores surrounding whitespace', () => {
      expect(parseHttpDate('  Sun, 06 Nov 1994 08:49:37 GMT ')).toBe(NOV_6_1994)
    })
  })

  describe('the RFC 850 fifty-year rule', () => {
    it('reads a two-digit year up to 50 years ahead in this century', () => {
      expect(parseHttpDate('Thursday, 18-Aug-50 02:01:18 GMT', { now: NOW_2026 })).toBe(
        Date.UTC(2050, 7, 18, 2, 1, 18),
      )
    })
    it('reads a two-digit year more than 50 years ahead in the previous century', () => {
      expect(parseHttpDate('Friday, 18-Aug-77 02:01:18 GMT', { now: NOW_2026 })).toBe(
        Date.UTC(1977, 7, 18, 2, 1, 18),
      )
    })
  })

  describe('rejects what is not an HTTP-date', () => {
    it.each([
      ['a zone other than GMT', 'Thu, 18 Aug 2050 02:01:18 UTC'],
      ['an AEST zone', 'Thu, 18 Aug 2050 02:01:18 AEST'],
      ['a two-digit year in an IMF-fixdate', 'Thu, 18 Aug 50 02:01:18 GMT'],
      ['a missing comma', 'Thu 18 Aug 2050 02:01:18 GMT'],
      ['doubled spaces', 'Thu, 18  Aug  2050 02:01:18 GMT'],
      ['dashes with a four-digit year', 'Thu, 18-Aug-2050 02:01:18 GMT'],
      ['periods in the time', 'Thu, 18 Aug 2050 02.01.18 GMT'],
      ['a one-digit hour', 'Thu, 18 Aug 2050 2:01:18 GMT'],
      ['a day that does not exist', 'Thu, 31 Feb 2050 02:01:18 GMT'],
      ['an hour of 24', 'Thu, 18 Aug 2050 24:00:00 GMT'],
      ['an unknown month', 'Thu, 18 Foo 2050 02:01:18 GMT'],
      ['an unknown day name', 'Xyz, 18 Aug 2050 02:01:18 GMT'],
      ['a short day name in RFC 850 form', 'Thu, 18-Aug-50 02:01:18 GMT'],
      ['a number', '0'],
      ['a negative number', '-1'],
      ['an ISO 8601 date', '2050-08-18T02:01:18Z'],
      ['an empty value', ''],
      ['two values joined', 'Thu, 18 Aug 2050 02:01:18 GMT, Thu, 18 Aug 2050 02:01:19 GMT'],
      ['an overlong value', `Thu, 18 Aug 2050 02:01:18 GMT${' '.repeat(100)}x`],
    ])('rejects %s', (_what, value) => {
      expect(parseHttpDate(value)).toBeUndefined()
    })
    it('rejects a value that is not a string', () => {
      expect(parseHttpDate(['Sun, 06 Nov 1994 08:49:37 GMT'])).toBeUndefined()
    })
  })

  describe('case', () => {
    it('is case-sensitive by default', () => {
      expect(parseHttpDate('THU, 18 Aug 2050 02:01:18 GMT')).toBeUndefined()
      expect(parseHttpDate('Thu, 18 AUG 2050 02:01:18 GMT')).toBeUndefined()
      expect(parseHttpDate('Thu, 18 Aug 2050 02:01:18 gMT')).toBeUndefined()
    })
    it('matches names in any case with caseInsensitive (RFC 9111 §4.2)', () => {
      const at = Date.UTC(2050, 7, 18, 2, 1, 18)
      expect(parseHttpDate('THU, 18 Aug 2050 02:01:18 GMT', { caseInsensitive: true })).toBe(at)
      expect(parseHttpDate('Thu, 18 AUG 2050 02:01:18 GMT', { caseInsensitive: true })).toBe(at)
      expect(parseHttpDate('Thu, 18 Aug 2050 02:01:18 gMT', { caseInsensitive: true })).toBe(at)
    })
  })

  it('formats an IMF-fixdate that it reads back', () => {
    expect(formatHttpDate(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
    expect(parseHttpDate(formatHttpDate(NOV_6_1994))).toBe(NOV_6_1994)
  })

  it('formats once a second with createHttpDateFormat, each memo its own', () => {
    const a = createHttpDateFormat()
    const b = createHttpDateFormat()
    expect(a(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
    expect(a(NOV_6_1994 + 999)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
    expect(a(NOV_6_1994 + 1000)).toBe('Sun, 06 Nov 1994 08:49:38 GMT')
    expect(b(NOV_6_1994 - 1000)).toBe('Sun, 06 Nov 1994 08:49:36 GMT')
    expect(a(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT')
  })
})
