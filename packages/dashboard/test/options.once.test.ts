import { HotpathError } from '@hotpath/core'
import { type DashboardOptions, dashboard } from '../src'
import { allSources, memoryLogger, TOKEN } from './fixtures'

const build = (options: unknown) => () => dashboard(options as DashboardOptions)

function thrown(fn: () => unknown): HotpathError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(HotpathError)
    return err as HotpathError
  }
  throw new Error('expected a throw')
}

describe('refuses to build without an auth decision', () => {
  it.each([
    ['no options', undefined],
    ['options without auth', { sources: {} }],
    ['auth: null', { auth: null }],
  ])('%s → ERR_HOTPATH_DASHBOARD_AUTH naming the three choices', (_name, options) => {
    const err = thrown(build(options))
    expect(err.code).toBe('ERR_HOTPATH_DASHBOARD_AUTH')
    expect(err.message).toContain('auth: { token: process.env.HOTPATH_TOKEN }')
    expect(err.message).toContain(
      "auth: { authorize: (req, action) => boolean | Promise<boolean> } (action is 'read' or 'write')",
    )
    expect(err.message).toContain("auth: 'none'")
  })

  it("auth: 'open' (a string other than 'none') is refused", () => {
    expect(thrown(build({ auth: 'open' })).code).toBe('ERR_HOTPATH_DASHBOARD_AUTH')
  })

  it('auth with both token and authorize is refused', () => {
    const err = thrown(build({ auth: { token: TOKEN, authorize: () => true } }))
    expect(err.code).toBe('ERR_HOTPATH_DASHBOARD_AUTH')
    expect(err.message).toContain('exactly one of "token" or "authorize"')
  })

  it('a misspelt auth key is refused and named', () => {
    const err = thrown(build({ auth: { tokken: TOKEN } }))
    expect(err.message).toContain('not "tokken"')
  })

  it('an undefined token (unset environment variable) says so', () => {
    const err = thrown(build({ auth: { token: undefined } }))
    expect(err.code).toBe('ERR_HOTPATH_DASHBOARD_TOKEN')
    expect(err.message).toContain('auth.token is undefined (is the environment variable set?)')
  })

  it('a token shorter than 16 characters is refused with how to make one', () => {
    const err = thrown(build({ auth: { token: 'short' } }))
    expect(err.code).toBe('ERR_HOTPATH_DASHBOARD_TOKEN')
    expect(err.message).toBe(
      "@hotpath/dashboard: auth.token has 5 characters; use at least 16, e.g. require('node:crypto').randomBytes(24).toString('base64url').",
    )
  })

  it('authorize that is not a function is refused', () => {
    expect(thrown(build({ auth: { authorize: true } })).code).toBe('ERR_HOTPATH_DASHBOARD_AUTH')
  })
})

describe('validates the other options at construction', () => {
  const ok = { auth: { token: TOKEN }, logger: memoryLogger().logger }

  it('an unknown option is refused with "did you mean"', () => {
    const err = thrown(build({ ...ok, sorces: {} }))
    expect(err.code).toBe('ERR_HOTPATH_OPTION')
    expect(err.message).toBe('@hotpath/dashboard: unknown option "sorces". Did you mean "sources"?')
  })

  it('an unknown source name is refused', () => {
    expect(thrown(build({ ...ok, sources: { profiller: {} } })).message).toContain('Did you mean "profiler"?')
  })

  it('a source without its contract methods is refused, naming the method', () => {
    const err = thrown(build({ ...ok, sources: { cache: { name: 'c', stats: () => ({}) } } }))
    expect(err.message).toBe(
      '@hotpath/dashboard: sources.cache has no invalidate() method; pass the instance returned by the @hotpath factory.',
    )
  })

  it('a registry without metrics() is refused', () => {
    expect(thrown(build({ ...ok, registry: {} })).message).toContain('prom-client Registry')
  })

  it.each([
    [{ rateLimit: { read: { limit: 0 } } }, 'rateLimit.read.limit must be a positive integer, got 0.'],
    [{ rateLimit: { write: { window: 'soon' } } }, 'Invalid rateLimit.write.window'],
    [{ rateLimit: { reads: {} } }, 'Did you mean "read"?'],
    [{ session: { ttl: 0 } }, 'session.ttl must be greater than zero.'],
    [{ session: { max: 1.5 } }, 'session.max must be a positive integer'],
    [{ session: { cookieName: 'a b' } }, 'session.cookieName must be'],
    [{ session: { cookiePath: 'relative' } }, 'session.cookiePath must be an absolute path'],
    [{ session: { cookiePath: '/a;Domain=evil' } }, 'session.cookiePath must be an absolute path'],
    [{ insights: { slowMs: -1 } }, 'insights.slowMs must be a non-negative number'],
    [{ insights: { slowMS: 1 } }, 'Did you mean "slowMs"?'],
    [{ window: '2m' }, 'window must be one of 1m, 5m, 1h, all'],
    [{ pollInterval: '0s' }, 'pollInterval must be greater than zero.'],
    [{ allowedOrigins: 'https://a.example' }, 'allowedOrigins must be an array'],
    [{ allowedOrigins: ['https://a.example/path'] }, 'allowedOrigins entries must be origins'],
  ])('%j → %s', (extra, message) => {
    expect(thrown(build({ ...ok, ...extra })).message).toContain(message)
  })
})

describe('instances', () => {
  it("never mutates the caller's options", () => {
    const options = {
      auth: { token: TOKEN },
      sources: allSources(),
      rateLimit: { read: { limit: 5 } },
      session: { ttl: '1h' },
      insights: { slowMs: 50 },
      allowedOrigins: ['https://admin.example'],
      logger: memoryLogger().logger,
    }
    const before = JSON.stringify(options)
    const sources = { ...options.sources }
    Object.freeze(options.rateLimit.read)
    dashboard(options)
    expect(JSON.stringify(options)).toBe(before)
    expect(options.sources).toEqual(sources)
  })

  it('accepts deeply frozen options', () => {
    const options = Object.freeze({
      auth: Object.freeze({ token: TOKEN }),
      rateLimit: Object.freeze({ write: Object.freeze({ limit: 3, window: '1m' }) }),
    })
    expect(() => dashboard(options)).not.toThrow()
  })

  it('returns a new router on every call', () => {
    const options = { auth: { token: TOKEN } }
    expect(dashboard(options)).not.toBe(dashboard(options))
  })
})
