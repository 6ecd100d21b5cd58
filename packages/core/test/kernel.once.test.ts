import type { Request } from 'express'
import {
  compileMatcher,
  createCircuitBreaker,
  createLogger,
  globToRegExp,
  HotpathError,
  hashTag,
  negotiateEncoding,
  pathOf,
  rejectUnknownOptions,
  resolveDynamic,
  withDeadline,
} from '../src'

describe('createLogger', () => {
  it('logs a coded warning once per instance', () => {
    const lines: string[] = []
    const sink = { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) }
    const a = createLogger(sink)
    const b = createLogger(sink)
    a.warnOnce('ERR_X', 'first')
    a.warnOnce('ERR_X', 'second')
    b.warnOnce('ERR_X', 'other instance')
    expect(lines).toEqual(['[ERR_X] first', '[ERR_X] other instance'])
  })
  it('logs again after rearm', () => {
    const lines: string[] = []
    const log = createLogger({ warn: () => {}, error: (m: string) => lines.push(m) })
    log.errorOnce('ERR_DOWN', 'down')
    log.rearm('ERR_DOWN')
    log.errorOnce('ERR_DOWN', 'down again')
    expect(lines).toEqual(['[ERR_DOWN] down', '[ERR_DOWN] down again'])
  })
  it('survives a logger that throws', () => {
    const log = createLogger({
      warn: () => {
        throw new Error('broken logger')
      },
      error: () => {},
    })
    expect(() => log.warn('x')).not.toThrow()
  })
})

describe('rejectUnknownOptions', () => {
  it('names the unknown option and the closest known one', () => {
    expect(() => rejectUnknownOptions('pkg', { tll: 1 }, ['ttl', 'store'])).toThrow(
      'pkg: unknown option "tll". Did you mean "ttl"?',
    )
  })
  it('does not suggest something unrelated', () => {
    expect(() => rejectUnknownOptions('pkg', { zzzzzz: 1 }, ['ttl'])).toThrow('pkg: unknown option "zzzzzz".')
  })
  it('rejects options that are not an object', () => {
    expect(() => rejectUnknownOptions('pkg', 5 as never, [])).toThrow(HotpathError)
  })
})

describe('matchers', () => {
  const req = { headers: {} } as Request
  it.each([
    ['/static/**', '/static', true],
    ['/static/**', '/static/a/b.js', true],
    ['/static/**', '/statics', false],
    ['/api/*', '/api/users', true],
    ['/api/*', '/api/users/1', false],
    ['/files/*.js', '/files/app.js', true],
    ['/files/*.js', '/files/app.css', false],
    ['/a.b', '/aXb', false],
    ['**', '/anything/at/all', true],
  ])('glob %p against %p is %p', (glob, path, expected) => {
    expect(compileMatcher(glob)(req, path)).toBe(expected)
    expect(globToRegExp(glob).test(path)).toBe(expected)
  })
  it('accepts a RegExp, dropping stateful flags', () => {
    const match = compileMatcher(/^\/api/g)
    expect(match(req, '/api/x')).toBe(true)
    expect(match(req, '/api/x')).toBe(true)
  })
  it('accepts a predicate', () => {
    expect(compileMatcher((r) => r.headers['x'] === undefined)(req, '/')).toBe(true)
  })
  it('reads the path without the query string', () => {
    expect(pathOf({ originalUrl: '/a/b?c=d' })).toBe('/a/b')
  })
})

describe('resolveDynamic', () => {
  it('returns a static value as is and calls a function with req and res', async () => {
    const req = { path: '/x' } as Request
    expect(resolveDynamic(5, req, {} as never)).toBe(5)
    expect(resolveDynamic((r: Request) => r.path, req, {} as never)).toBe('/x')
    await expect(resolveDynamic(async () => 7, req, {} as never)).resolves.toBe(7)
  })
})

describe('withDeadline', () => {
  it('rejects with ERR_HOTPATH_DEADLINE when work is too slow', async () => {
    const slow = new Promise((resolve) => setTimeout(resolve, 200))
    await expect(withDeadline(slow, 20, 'GET')).rejects.toMatchObject({
      code: 'ERR_HOTPATH_DEADLINE',
      message: 'GET did not answer within 20 ms',
    })
  })
  it('passes the result and the rejection of timely work through', async () => {
    await expect(withDeadline(Promise.resolve(3), 50)).resolves.toBe(3)
    await expect(withDeadline(Promise.reject(new Error('no')), 50)).rejects.toThrow('no')
  })
})

describe('createCircuitBreaker', () => {
  it('opens after consecutive failures, lets one trial through after the cooldown, closes on success', () => {
    let now = 0
    const breaker = createCircuitBreaker({ failureThreshold: 2, cooldown: 100, now: () => now })
    breaker.failure()
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(breaker.allow()).toBe(false)
    now = 100
    expect(breaker.allow()).toBe(true)
    expect(breaker.state).toBe('half-open')
    expect(breaker.allow()).toBe(false)
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(breaker.allow()).toBe(true)
  })
  it('re-opens when the trial fails', () => {
    let now = 0
    const breaker = createCircuitBreaker({ failureThreshold: 1, cooldown: 10, now: () => now })
    breaker.failure()
    now = 10
    breaker.allow()
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(breaker.allow()).toBe(false)
  })
})

describe('hashTag', () => {
  it('wraps a tag in braces and neutralises braces inside it', () => {
    expect(hashTag('user:1')).toBe('{user:1}')
    expect(hashTag('a{b}c')).toBe('{a_b_c}')
  })
})

describe('negotiateEncoding', () => {
  it('takes the highest q, ties in server order, and honours a preferred identity', () => {
    expect(negotiateEncoding('gzip, br', ['br', 'gzip'])).toBe('br')
    expect(negotiateEncoding('br;q=0.5, gzip', ['br', 'gzip'])).toBe('gzip')
    expect(negotiateEncoding('identity, gzip;q=0.5', ['gzip'])).toBeNull()
    expect(negotiateEncoding('gzip;q=5', ['gzip'])).toBeNull()
    expect(negotiateEncoding(undefined, ['gzip'])).toBeNull()
  })
})
