import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { compression } from '../src'
import { decode, raw } from './helpers'

describe('files served by express.static', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-compression-'))
  const script = `export const items = ${JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i })))}\n`
  writeFileSync(join(dir, 'app.js'), script)
  const compress = compression()
  const app = express()
  app.use(compress)
  app.use('/static', express.static(dir))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('streams a compressed file that decodes to the file', async () => {
    const res = await raw(request(app).get('/static/app.js').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-length']).toBeUndefined()
    expect(decode('gzip', res.body).toString()).toBe(script)
    expect(compress.stats().routes['GET /static/*']?.bytesIn).toBe(Buffer.byteLength(script))
  })

  it('sends a byte range of the file unencoded', async () => {
    const res = await raw(
      request(app).get('/static/app.js').set('Accept-Encoding', 'gzip').set('Range', 'bytes=0-99'),
    )
    expect(res.status).toBe(206)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.body.toString()).toBe(script.slice(0, 100))
  })
})
