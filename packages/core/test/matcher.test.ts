import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Request } from 'express'
import { express } from '../../../test/helpers/express'
import { compileMatcher, globToRegExp } from '../src'

/** A request as a matcher sees it inside `app`. */
function inApp(settings: Record<string, boolean>) {
  const app = express()
  for (const [name, value] of Object.entries(settings)) app.set(name, value)
  return { app } as unknown as Request
}

describe('globs follow the app routing settings', () => {
  const rule = compileMatcher('/api/me/**')
  const exact = compileMatcher('/api/products')

  it('ignores case by default, as Express routing does', () => {
    expect(rule(inApp({}), '/API/me/profile')).toBe(true)
    expect(rule(inApp({}), '/api/ME/profile')).toBe(true)
  })

  it("tells case apart when the app enables 'case sensitive routing'", () => {
    const req = inApp({ 'case sensitive routing': true })
    expect(rule(req, '/api/ME/profile')).toBe(false)
    expect(rule(req, '/api/me/profile')).toBe(true)
  })

  it('matches a trailing slash by default, as Express routing does', () => {
    expect(exact(inApp({}), '/api/products/')).toBe(true)
    expect(exact(inApp({}), '/api/products')).toBe(true)
  })

  it("tells a trailing slash apart when the app enables 'strict routing'", () => {
    const req = inApp({ 'strict routing': true })
    expect(exact(req, '/api/products/')).toBe(false)
    expect(exact(req, '/api/products')).toBe(true)
  })

  it('still keeps segments apart whatever the settings', () => {
    expect(exact(inApp({}), '/api/products/1')).toBe(false)
    expect(compileMatcher('/api/*')(inApp({}), '/API/users/1')).toBe(false)
  })

  it('uses a RegExp with its own flags, as Express does with a RegExp route', () => {
    expect(compileMatcher(/^\/api\/me/)(inApp({}), '/API/me')).toBe(false)
    expect(compileMatcher(/^\/api\/me/i)(inApp({}), '/API/me')).toBe(true)
  })

  it.each([
    [{}, '/API/me/profile'],
    [{}, '/api/me/profile/'],
    [{ 'case sensitive routing': true }, '/api/me/profile'],
    [{ 'strict routing': true }, '/api/me/profile'],
  ])('matches whenever the app routes the request (settings %p, %p)', async (settings, path) => {
    const app = express()
    for (const [name, value] of Object.entries(settings)) app.set(name, value)
    const match = compileMatcher('/api/me/**')
    let matched = false
    app.use((req, _res, next) => {
      matched = match(req, req.path)
      next()
    })
    app.get('/api/me/profile', (_req, res) => {
      res.send('me')
    })
    const server = http.createServer(app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          .on('error', reject)
      })
      expect([status, matched]).toEqual([200, true])
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('keeps globToRegExp exact without options', () => {
    expect(globToRegExp('/api').test('/API')).toBe(false)
    expect(globToRegExp('/api', { caseSensitive: false, strict: false }).test('/API/')).toBe(true)
  })
})
