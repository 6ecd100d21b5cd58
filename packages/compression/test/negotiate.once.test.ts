import { negotiate } from '../src'

const ALL = ['br', 'gzip', 'deflate'] as const

describe('negotiate (RFC 9110 §12.5.3)', () => {
  it('returns null (identity) when the header is absent', () => {
    expect(negotiate(undefined, ALL)).toBeNull()
  })

  it('takes the server order when the client lists codings without q', () => {
    expect(negotiate('gzip, deflate, br', ALL)).toBe('br')
  })

  it('honours a higher client q over the server order', () => {
    expect(negotiate('br;q=0.2, gzip;q=0.9', ALL)).toBe('gzip')
  })

  it('never picks a coding with q=0', () => {
    expect(negotiate('br;q=0, gzip;q=0, deflate;q=0', ALL)).toBeNull()
  })

  it('uses * for codings the client did not name', () => {
    expect(negotiate('*', ALL)).toBe('br')
    expect(negotiate('br;q=0, *;q=0.5', ALL)).toBe('gzip')
  })

  it('prefers identity when the client ranks it above every offered coding', () => {
    expect(negotiate('gzip;q=0.5, identity', ALL)).toBeNull()
  })

  it('returns null for identity;q=0, *;q=0', () => {
    expect(negotiate('identity;q=0, *;q=0', ALL)).toBeNull()
  })

  it('is case-insensitive and tolerates whitespace and extra parameters', () => {
    expect(negotiate(' GZIP ; Q=0.8 ; foo=bar ,  Br;q=0.1', ALL)).toBe('gzip')
  })

  it('ignores an entry whose q-value is malformed', () => {
    expect(negotiate('br;q=high, gzip', ALL)).toBe('gzip')
    expect(negotiate('br;q=1.5', ALL)).toBeNull()
  })

  it('keeps the first of two entries for the same coding', () => {
    expect(negotiate('gzip;q=0, gzip', ['gzip'])).toBeNull()
  })

  it('parses a 64 KB pathological header in linear time', () => {
    // Quadratic scanning would take seconds here; the linear parser takes about a millisecond.
    const nasty = `${'gzip;q=0.5;'.repeat(3000)}${',;'.repeat(16_000)}`
    const started = performance.now()
    expect(negotiate(nasty, ALL)).toBe('gzip')
    expect(performance.now() - started).toBeLessThan(250)
  })
})
