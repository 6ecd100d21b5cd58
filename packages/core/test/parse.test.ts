import { HotpathError, parseBytes, parseDuration } from '../src'

describe('parseDuration', () => {
  it.each([
    [300, 300],
    ['300', 300],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['1 min', 60_000],
    ['1W', 604_800_000],
  ])('reads %p as %p ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it.each([['abc'], [''], ['5 parsecs'], ['-5s'], [-1], [Number.NaN], ['5m garbage'], ['m5']])(
    'rejects %p with a coded error that names the accepted forms',
    (input) => {
      let error: unknown
      try {
        parseDuration(input as string, 'ttl')
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(HotpathError)
      expect((error as HotpathError).code).toBe('ERR_HOTPATH_DURATION')
      expect((error as Error).message).toContain('Invalid ttl')
      expect((error as Error).message).toContain("'5m'")
    },
  )

  it('parses a long malformed string in linear time without hanging', () => {
    expect(() => parseDuration(`${'1'.repeat(100_000)}x`)).toThrow(HotpathError)
  })
})

describe('parseBytes', () => {
  it.each([
    [1024, 1024],
    ['64mb', 64 * 1024 * 1024],
    ['512 KB', 512 * 1024],
    ['1.5gb', 1.5 * 1024 ** 3],
    ['100', 100],
    ['100b', 100],
  ])('reads %p as %p bytes', (input, expected) => {
    expect(parseBytes(input)).toBe(expected)
  })

  it.each([['lots'], ['12 parsecs'], [-1], ['']])('rejects %p with ERR_HOTPATH_BYTES', (input) => {
    expect(() => parseBytes(input as string)).toThrow(expect.objectContaining({ code: 'ERR_HOTPATH_BYTES' }))
  })
})
