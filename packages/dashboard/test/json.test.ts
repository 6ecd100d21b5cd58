import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compression } from '@hotpath/compression'
import { fields } from '@hotpath/json'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { AUTH, BEARER, MOUNTS, memoryLogger, ROOMY_LIMITS } from './fixtures'

function adminFor(base: string, sources: Parameters<typeof dashboard>[0]['sources']) {
  const admin = express()
  const router = dashboard({ auth: AUTH, sources, rateLimit: ROOMY_LIMITS, logger: memoryLogger().logger })
  if (base) admin.use(base, router)
  else admin.use(router)
  return admin
}

/** An app with compression and fields(), one masked and compressed response served. */
async function served() {
  const compress = compression({ threshold: 0 })
  const json = fields({ measureEvery: 1 })
  const app = express()
  app.use(compress, json)
  const body = { id: 1, text: 'x'.repeat(3000) }
  app.get('/api/post', (_req, res) => void res.json(body))
  await request(app).get('/api/post?fields=text').set('Accept-Encoding', 'gzip').expect(200)
  const saved =
    Buffer.byteLength(JSON.stringify(body)) - Buffer.byteLength(JSON.stringify({ text: body.text }))
  return { compress, json, saved }
}

describe.each(MOUNTS)('GET /json/stats, $name', ({ base }) => {
  it('answers the bytes saved by masking per route beside the bytes compression saved', async () => {
    const { compress, json, saved } = await served()
    const res = await request(adminFor(base, { json, compression: compress }))
      .get(`${base}/json/stats`)
      .set('Authorization', BEARER)
      .expect(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body.schema).toBe(1)
    expect(res.body.json.routes['GET /api/post']).toMatchObject({ masked: 1, bytesSaved: saved })
    const compressed = compress.stats().routes['GET /api/post']?.bytesSaved as number
    expect(compressed).toBeGreaterThan(0)
    expect(res.body.savings).toEqual([
      {
        route: 'GET /api/post',
        masked: 1,
        bytesOut: res.body.json.routes['GET /api/post'].bytesOut,
        savedByMasking: saved,
        savedByCompression: compressed,
        streams: 0,
        streamErrors: 0,
      },
    ])
  })

  it('shows zero compression savings without a compression source', async () => {
    const { json } = await served()
    const res = await request(adminFor(base, { json }))
      .get(`${base}/json/stats`)
      .set('Authorization', BEARER)
      .expect(200)
    expect(res.body.savings[0].savedByCompression).toBe(0)
  })

  it('answers json: null naming the option without a json source (200: the page asks on every load)', async () => {
    const res = await request(adminFor(base, {}))
      .get(`${base}/json/stats`)
      .set('Authorization', BEARER)
      .expect(200)
    expect(res.body.json).toBeNull()
    expect(res.body.savings).toEqual([])
    expect(res.body.message).toMatch(/sources\.json/)
  })

  it('answers 401 without credentials', async () => {
    const { json } = await served()
    await request(adminFor(base, { json })).get(`${base}/json/stats`).expect(401)
  })

  it('answers 405 with Allow to a POST', async () => {
    const { json } = await served()
    const res = await request(adminFor(base, { json }))
      .post(`${base}/json/stats`)
      .set('Authorization', BEARER)
      .expect(405)
    expect(res.headers.allow).toBe('GET, HEAD')
  })
})

describe('the dashboard and @hotpath/json', () => {
  it('rejects a json source without stats()', () => {
    expect(() =>
      dashboard({ auth: 'none', sources: { json: {} as never }, logger: memoryLogger().logger }),
    ).toThrow(/sources\.json has no stats\(\) method/)
  })

  it('never imports @hotpath/json', () => {
    const dir = join(__dirname, '..', 'src')
    for (const file of ['json.ts', 'router.ts', 'types.ts', 'options.ts']) {
      expect(readFileSync(join(dir, file), 'utf8')).not.toMatch(
        /from '@hotpath\/json'|require\('@hotpath\/json'\)/,
      )
    }
    expect(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).not.toMatch(/@hotpath\/json/)
  })

  it('has a partial-responses panel on the page, hidden until json/stats has a source', () => {
    const html = readFileSync(join(__dirname, '..', 'assets', 'index.html'), 'utf8')
    expect(html).toMatch(/<section id="json-section" hidden>/)
    expect(readFileSync(join(__dirname, '..', 'assets', 'app.js'), 'utf8')).toMatch(/fetch\('json\/stats'/)
  })
})
