import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { express } from '../../../test/helpers/express'
import { cacheControl } from '../src'

/** The README's rules: the per-user area is private, the rest of the API public. */
async function headerFor(path: string, settings: Record<string, boolean> = {}): Promise<[number, string]> {
  const app = express()
  for (const [name, value] of Object.entries(settings)) app.set(name, value)
  app.use(
    cacheControl({
      rules: [
        { match: '/api/me/**', preset: 'private' },
        { match: '/api/**', preset: 'api' },
      ],
    }),
  )
  app.get('/api/me/profile', (_req, res) => {
    res.json({ me: true })
  })
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const port = (server.address() as AddressInfo).port
    return await new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          res.resume()
          res.on('end', () => resolve([res.statusCode ?? 0, String(res.headers['cache-control'])]))
        })
        .on('error', reject)
    })
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

describe('rules follow the app routing settings', () => {
  it.each(['/api/me/profile', '/API/me/profile', '/api/ME/profile', '/api/me/profile/'])(
    'makes the per-user route private when reached as %s',
    async (path) => {
      const [status, value] = await headerFor(path)
      expect(status).toBe(200)
      expect(value).toMatch(/^private\b/)
    },
  )

  it("tells a trailing slash apart under 'strict routing', as the router does (404)", async () => {
    const [status] = await headerFor('/api/me/profile/', { 'strict routing': true })
    expect(status).toBe(404)
  })
})
