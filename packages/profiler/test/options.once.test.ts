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
