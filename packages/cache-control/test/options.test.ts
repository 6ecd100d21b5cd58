import type { Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { cacheControl, type Rule } from '../src'

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn()
  } catch (error) {
    return error as { code: string; message: string }
  }
  throw new Error('expected a throw')
}

describe('options', () => {
  it('rejects an unknown option and suggests the right name', () => {
    const error = codeOf(() => cacheControl({ rulez: [] } as never))
    expect(error.code).toBe('ERR_HOTPATH_OPTION')
    expect(error.message).toBe('cacheControl: unknown option "rulez". Did you mean "rules"?')
  })

  it('rejects an unknown preset and suggests the closest', () => {
    const error = codeOf(() => cacheControl({ rules: [{ match: '/**', preset: 'imutable' as never }] }))
    expect(error.code).toBe('ERR_HOTPATH_CACHE_CONTROL')
    expect(error.message).toContain('Did you mean "immutable"?')
  })

  it('rejects a rule without match', () => {
    expect(codeOf(() => cacheControl({ rules: [{ preset: 'api' } as never] })).message).toContain(
      'needs "match"',
    )
  })

  it('rejects a rule that sets no policy', () => {
    expect(codeOf(() => cacheControl({ rules: [{ match: '/x' }] })).message).toContain('sets no policy')
  })

  it('rejects public together with private', () => {
    expect(
      codeOf(() => cacheControl({ rules: [{ match: '/x', public: true, private: true }] })).message,
    ).toContain('contradict')
  })

  it('rejects a bad duration with the accepted forms', () => {
    const error = codeOf(() => cacheControl({ rules: [{ match: '/x', maxAge: '5 fortnights' }] }))
    expect(error.code).toBe('ERR_HOTPATH_DURATION')
  })

  it('rejects a glob that does not start with a slash', () => {
    expect(codeOf(() => cacheControl({ rules: [{ match: 'static/**', preset: 'api' }] })).code).toBe(
      'ERR_HOTPATH_MATCHER',
    )
  })

  it('rejects a bad etag mode', () => {
    expect(codeOf(() => cacheControl({ etag: 'fast' as never })).message).toContain(
      "'weak', 'strong' or false",
    )
  })

  it('never mutates the options it is given', async () => {
    const rules: Rule[] = [
      Object.freeze({ match: '/**', preset: 'api' as const, vary: Object.freeze(['Accept']) }),
    ]
    const options = Object.freeze({ rules: Object.freeze(rules), etag: 'strong' as const })
    const snapshot = JSON.stringify(options)
    const app = express()
    app.use(cacheControl(options))
    app.use((_req: Request, res: Response) => {
      res.end('x')
    })
    await request(app).get('/a').expect(200)
    expect(JSON.stringify(options)).toBe(snapshot)
  })

  it('gives every instance its own counters', async () => {
    const a = cacheControl({ rules: [{ match: '/**', preset: 'api', name: 'all' }] })
    const b = cacheControl({ rules: [{ match: '/**', preset: 'api', name: 'all' }] })
    const app = express()
    app.use(a)
    app.use((_req: Request, res: Response) => {
      res.end('x')
    })
    await request(app).get('/a').expect(200)
    expect(a.stats().rules).toEqual({ all: 1 })
    expect(b.stats().rules).toEqual({ all: 0 })
  })

  it('is a named middleware that reads as a stats source', () => {
    const cc = cacheControl()
    expect(cc.name).toBe('cacheControl')
    expect(cc.stats()).toEqual({
      rules: {},
      notModified: 0,
      bytesSaved: 0,
      preconditionFailed: 0,
      errorsNoStore: 0,
    })
  })
})
