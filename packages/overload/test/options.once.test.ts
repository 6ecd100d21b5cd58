import { breaker, overload } from '../src'

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    const made = fn() as { close?: () => void; shutdown?: () => void }
    made.close?.()
    made.shutdown?.()
    return undefined
  } catch (err) {
    return (err as { code?: string }).code
  }
}
const messageOf = (fn: () => unknown): string => {
  try {
    fn()
    return ''
  } catch (err) {
    return (err as Error).message
  }
}

describe('overload() options', () => {
  it('builds with no options at all', () => {
    expect(codeOf(() => overload())).toBeUndefined()
  })

  it('rejects an unknown option and suggests the known one', () => {
    expect(codeOf(() => overload({ targt: '5ms' } as never))).toBe('ERR_HOTPATH_OPTION')
    expect(messageOf(() => overload({ targt: '5ms' } as never))).toContain('Did you mean "target"?')
  })

  it('rejects a target longer than the interval', () => {
    expect(codeOf(() => overload({ target: '200ms', interval: '100ms' }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })

  it('rejects a duration it cannot read, naming the option', () => {
    expect(codeOf(() => overload({ interval: 'soon' }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
    expect(messageOf(() => overload({ interval: 'soon' }))).toContain('interval')
  })

  it('rejects minLimit above maxLimit', () => {
    expect(codeOf(() => overload({ minLimit: 10, maxLimit: 5 }))).toBe('ERR_HOTPATH_OVERLOAD_LIMITS')
  })

  it('rejects an initialLimit outside the bounds', () => {
    expect(codeOf(() => overload({ initialLimit: 5000 }))).toBe('ERR_HOTPATH_OVERLOAD_LIMITS')
  })

  it('rejects a fractional limit', () => {
    expect(codeOf(() => overload({ minLimit: 2.5 }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })

  it('rejects an unknown priority name', () => {
    expect(codeOf(() => overload({ priorities: [{ match: '/x', priority: 'urgent' as never }] }))).toBe(
      'ERR_HOTPATH_OVERLOAD_PRIORITY',
    )
  })

  it('rejects a glob that does not start with "/"', () => {
    expect(codeOf(() => overload({ priorities: [{ match: 'api/**', priority: 'normal' }] }))).toBe(
      'ERR_HOTPATH_OVERLOAD_PRIORITY',
    )
  })

  it('rejects priorities that are not an array', () => {
    expect(codeOf(() => overload({ priorities: { match: '/x' } as never }))).toBe(
      'ERR_HOTPATH_OVERLOAD_PRIORITY',
    )
  })

  it('rejects an event-loop utilisation above 1', () => {
    expect(codeOf(() => overload({ eventLoop: { maxUtilization: 1.5 } }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })

  it('rejects an unknown event-loop option', () => {
    expect(codeOf(() => overload({ eventLoop: { maxUtilisation: 0.8 } as never }))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects a status code that is not an error', () => {
    expect(codeOf(() => overload({ statusCode: 200 }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })

  it('rejects a registry that is not a prom-client Registry', () => {
    expect(codeOf(() => overload({ registry: {} as never }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })

  it('rejects a handler that is not a function', () => {
    expect(codeOf(() => overload({ handler: 'nope' as never }))).toBe('ERR_HOTPATH_OVERLOAD_OPTION')
  })
})

describe('breaker() options', () => {
  const call = async () => 'ok'

  it('builds with no options at all', () => {
    expect(codeOf(() => breaker(call))).toBeUndefined()
  })

  it('rejects a first argument that is not a function', () => {
    expect(codeOf(() => breaker('fetch' as never))).toBe('ERR_HOTPATH_BREAKER_OPTION')
  })

  it('rejects a failure rate given as a percentage', () => {
    expect(codeOf(() => breaker(call, { failureRate: 50 }))).toBe('ERR_HOTPATH_BREAKER_OPTION')
    expect(messageOf(() => breaker(call, { failureRate: 50 }))).toContain('0.5 for 50%')
  })

  it('rejects a slow-call duration longer than the timeout', () => {
    expect(codeOf(() => breaker(call, { timeout: '1s', slowCallDuration: '2s' }))).toBe(
      'ERR_HOTPATH_BREAKER_OPTION',
    )
  })

  it('rejects a window that does not divide into its buckets', () => {
    expect(codeOf(() => breaker(call, { window: 1000, buckets: 3 }))).toBe('ERR_HOTPATH_BREAKER_OPTION')
  })

  it('rejects an unknown option and suggests the known one', () => {
    expect(messageOf(() => breaker(call, { resetTimout: '1s' } as never))).toContain(
      'Did you mean "resetTimeout"?',
    )
  })

  it('rejects shared state without a Redis client', () => {
    expect(codeOf(() => breaker(call, { shared: {} as never }))).toBe('ERR_HOTPATH_BREAKER_OPTION')
  })
})
