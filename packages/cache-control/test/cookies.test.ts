import session from 'express-session'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { cacheControl } from '../src'
import type { Rule } from '../src/types'

function app(rule: Omit<Rule, 'match'>, withSession = false) {
  const a = express()
  if (withSession) a.use(session({ secret: 's', resave: false, saveUninitialized: false }))
  a.use(cacheControl({ rules: [{ match: '/**', ...rule }] }))
  a.get('/cookie', (_req, res) => {
    res.cookie('sid', 'abc').json({ ok: true })
  })
  a.get('/session', (req, res) => {
    ;(req.session as unknown as { n?: number }).n = 1
    res.json({ ok: true })
  })
  a.get('/plain', (_req, res) => {
    res.json({ ok: true })
  })
  return a
}

describe('a response that sets a cookie', () => {
  it('gets private with the rule’s max-age instead of public', async () => {
    const res = await request(app({ preset: 'api' })).get('/cookie')
    expect(res.headers['cache-control']).toBe('private, max-age=60, stale-while-revalidate=60')
  })

  it('loses s-maxage and proxy-revalidate', async () => {
    const res = await request(app({ public: true, maxAge: '1m', sMaxage: '1h', proxyRevalidate: true })).get(
      '/cookie',
    )
    expect(res.headers['cache-control']).toBe('private, max-age=60')
  })

  it('gets private when express-session adds its cookie as the head goes out', async () => {
    const res = await request(app({ preset: 'api' }, true)).get('/session')
    expect(res.headers['set-cookie']).toHaveLength(1)
    expect(res.headers['cache-control']).toBe('private, max-age=60, stale-while-revalidate=60')
  })

  it('keeps public on the same app’s responses without a cookie', async () => {
    const res = await request(app({ preset: 'api' }, true)).get('/plain')
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(res.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('sends CDN-Cache-Control: private instead of the rule’s shared policy', async () => {
    const res = await request(app({ preset: 'api', cdn: { maxAge: '1h' } })).get('/cookie')
    expect(res.headers['cdn-cache-control']).toBe('private')
  })

  it('sends the rule as it is with cookies: public-ok', async () => {
    const res = await request(app({ preset: 'api', cookies: 'public-ok' })).get('/cookie')
    expect(res.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('leaves no-store alone', async () => {
    const res = await request(app({ preset: 'no-store' })).get('/cookie')
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('rejects an unknown cookies value at construction, with a coded error', () => {
    expect(() => cacheControl({ rules: [{ match: '/**', preset: 'api', cookies: 'yes' as never }] })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_CACHE_CONTROL' }),
    )
  })
})
