import { HotpathError } from '@hotpath/core'
import { profiler } from '../src'
import { closeAll, make } from './helpers'

afterEach(closeAll)

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(HotpathError)
    return (err as HotpathError).code
  }
  return undefined
}

describe('options', () => {
  it('returns a middleware function named profiler', () => {
    const prof = make()
    expect(typeof prof).toBe('function')
    expect(prof.name).toBe('profiler')
    expect(prof.length).toBe(3)
  })

  it('rejects an unknown option and suggests the closest one', () => {
    expect(() => profiler({ slowTreshold: '1s' } as never)).toThrow(
      /unknown option "slowTreshold"\. Did you mean "slowThreshold"\?/,
    )
  })

  it('rejects a malformed slowThreshold with the duration error', () => {
    expect(codeOf(() => profiler({ slowThreshold: 'fast' }))).toBe('ERR_HOTPATH_DURATION')
  })

  it.each([
    ['maxRoutes', 0],
    ['maxRoutes', 1.5],
    ['slowRequests', -1],
    ['nPlusOneThreshold', 0],
    ['maxQueryShapes', '10'],
  ])('rejects %s = %p with ERR_HOTPATH_OPTION', (name, value) => {
    expect(codeOf(() => profiler({ [name]: value } as never))).toBe('ERR_HOTPATH_OPTION')
  })

  it('rejects buckets that are not strictly increasing', () => {
    expect(() => profiler({ buckets: [0.1, 0.05] })).toThrow(/strictly increasing/)
  })

  it('rejects a registry that is not a prom-client Registry', () => {
    expect(() => profiler({ registry: {} as never })).toThrow(/registry must be a prom-client Registry/)
  })

  it('rejects a sampleInterval under 100ms', () => {
    expect(() => profiler({ sampleInterval: 10 })).toThrow(/sampleInterval must be at least 100ms/)
  })

  it('does not mutate the options it is given', () => {
    const options = Object.freeze({ slowThreshold: '250ms', maxRoutes: 5, buckets: Object.freeze([0.1, 1]) })
    const copy = JSON.parse(JSON.stringify(options))
    make(options)
    expect(options).toEqual(copy)
  })

  it('reports the slow threshold it was given', () => {
    expect(make({ slowThreshold: '1.5s' }).slowRequests().thresholdMs).toBe(1500)
  })

  it('defaults the slow threshold to 500 ms', () => {
    expect(make().slowRequests().thresholdMs).toBe(500)
  })
})

describe('query() and span() arguments', () => {
  it('rejects a query without a function with a coded error', () => {
    expect(codeOf(() => make().query(undefined, 'SELECT 1', undefined as never))).toBe(
      'ERR_HOTPATH_PROFILER_ARGUMENT',
    )
  })

  it('rejects a span without a function with a coded error', () => {
    expect(codeOf(() => make().span(undefined, 'x', 'nope' as never))).toBe('ERR_HOTPATH_PROFILER_ARGUMENT')
  })
})

describe('query instrumentation options', () => {
  it.each([
    [{ explain: 'yes' }, /explain must be true, false or/],
    [{ explain: { minDurationMs: -1 } }, /explain\.minDurationMs must be a number of milliseconds ≥ 0/],
    [{ explain: { sampleEvery: 0 } }, /explain\.sampleEvery must be an integer from 1/],
    [{ explain: { minRow: 10 } }, /unknown option "minRow"\. Did you mean "minRows"\?/],
  ])('rejects explain %j with the fix in the message', (options, message) => {
    expect(() => profiler({ registry: false, eventLoop: false, ...(options as object) })).toThrow(message)
  })

  it('instruments every supported driver installed beside the app with instrument("auto")', () => {
    const prof = profiler({ registry: false, eventLoop: false })
    expect(prof.instrument('auto').sort()).toEqual(['better-sqlite3', 'ioredis', 'knex', 'mysql2', 'pg'])
    prof.uninstrument()
    expect(prof.queries().instrumented).toEqual([])
    prof.close()
  })

  it('refuses something that is not a driver module with ERR_HOTPATH_PROFILER_INSTRUMENT', () => {
    const prof = profiler({ registry: false, eventLoop: false })
    expect(codeOf(() => prof.instrument({ pg: {} }))).toBe('ERR_HOTPATH_PROFILER_INSTRUMENT')
    expect(codeOf(() => prof.instrument(null as never))).toBe('ERR_HOTPATH_PROFILER_INSTRUMENT')
    prof.close()
  })

  it('refuses to watch something that is not a pool with ERR_HOTPATH_PROFILER_POOL', () => {
    const prof = profiler({ registry: false, eventLoop: false })
    expect(codeOf(() => prof.watchPool({}))).toBe('ERR_HOTPATH_PROFILER_POOL')
    prof.close()
  })

  it('does not modify the explain options it is given', () => {
    const explain = Object.freeze({ minDurationMs: 5 })
    const prof = profiler({ registry: false, eventLoop: false, explain })
    expect(explain).toEqual({ minDurationMs: 5 })
    prof.close()
  })
})
