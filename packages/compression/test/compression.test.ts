import { randomBytes } from 'node:crypto'
import request from 'supertest'
import { compression } from '../src'
import { appWith, decode, jsonOfSize, raw } from './helpers'

const body1k = jsonOfSize(1024)
const text1k = JSON.stringify(body1k)
const text5k = JSON.stringify(jsonOfSize(5000))

describe('compressing a whole body', () => {
  const app = appWith(compression(), (a) => {
    a.get('/json', (_req, res) => {
      res.json(body1k)
    })
  })

  it('gzips a 1 KB JSON body and the bytes decode to the original', async () => {
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })

  it('sets Content-Length to the compressed size', async () => {
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-length']).toBe(String(res.body.length))
    expect(res.body.length).toBeLessThan(Buffer.byteLength(text1k))
  })

  it('answers a client that prefers br with Brotli', async () => {
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip, deflate, br'))
    expect(res.headers['content-encoding']).toBe('br')
    expect(decode('br', res.body).toString()).toBe(text1k)
  })

  it('answers a deflate-only client with deflate', async () => {
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'deflate'))
    expect(res.headers['content-encoding']).toBe('deflate')
    expect(decode('deflate', res.body).toString()).toBe(text1k)
  })

  it('compresses a body whose output is larger than the input', async () => {
    const noise = randomBytes(1024)
    const noiseApp = appWith(compression(), (a) => {
      a.get('/noise', (_req, res) => {
        res.setHeader('Content-Type', 'text/plain')
        res.end(noise)
      })
    })
    const res = await raw(request(noiseApp).get('/noise').set('Accept-Encoding', 'gzip'))
    expect(res.body.length).toBeGreaterThan(1024)
    expect(Buffer.compare(decode('gzip', res.body), noise)).toBe(0)
  })

  it('compresses a string body in its declared encoding', async () => {
    const latin = 'caf\u00e9 '.repeat(200)
    const latinApp = appWith(compression(), (a) => {
      a.get('/latin', (_req, res) => {
        res.setHeader('Content-Type', 'text/plain; charset=latin1')
        res.end(latin, 'latin1')
      })
    })
    const res = await raw(request(latinApp).get('/latin').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString('latin1')).toBe(latin)
  })
})

describe('compressing a streamed body', () => {
  const app = appWith(compression({ syncThreshold: 1024 }), (a) => {
    a.get('/chunks', (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write(text1k)
      setImmediate(() => {
        res.write(text1k)
        res.end(text1k)
      })
    })
    a.get('/large', (_req, res) => {
      res.type('json').send(text5k)
    })
    a.get('/head-array', (_req, res) => {
      res.writeHead(200, 'OK', ['Content-Type', 'application/json', 'ETag', '"v2"'])
      res.end(text1k)
    })
    a.get('/head-first', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"v1"' })
      res.end(text1k)
    })
  })

  it('compresses a body written in several chunks', async () => {
    const res = await raw(request(app).get('/chunks').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-length']).toBeUndefined()
    expect(decode('gzip', res.body).toString()).toBe(text1k.repeat(3))
  })

  it('streams a one-shot body at or above syncThreshold', async () => {
    const res = await raw(request(app).get('/large').set('Accept-Encoding', 'br'))
    expect(res.headers['content-encoding']).toBe('br')
    expect(res.headers['content-length']).toBeUndefined()
    expect(decode('br', res.body).toString()).toBe(text5k)
  })

  it('compresses a response whose headers were passed to writeHead as a flat array', async () => {
    const res = await raw(request(app).get('/head-array').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers.etag).toBe('W/"v2"')
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })

  it('compresses a response whose headers were passed to writeHead', async () => {
    const res = await raw(request(app).get('/head-first').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(res.headers.etag).toBe('W/"v1"')
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })
})

describe('negotiation on the wire', () => {
  const app = appWith(compression({ encodings: ['gzip', 'br'] }), (a) => {
    a.get('/json', (_req, res) => {
      res.json(body1k)
    })
  })
  const encodingFor = async (header?: string): Promise<string | undefined> => {
    const test = raw(request(app).get('/json'))
    const res = await (header === undefined
      ? test.set('Accept-Encoding', '')
      : test.set('Accept-Encoding', header))
    expect(res.status).toBe(200)
    expect(decode(res.headers['content-encoding'], res.body).toString()).toBe(text1k)
    return res.headers['content-encoding']
  }

  it('does not use gzip when the client gives it q=0', async () => {
    expect(await encodingFor('gzip;q=0, br')).toBe('br')
  })

  it('sends identity when the only named coding has q=0', async () => {
    expect(await encodingFor('gzip;q=0')).toBeUndefined()
  })

  it('picks the coding with the higher q-value', async () => {
    expect(await encodingFor('br;q=0.5, gzip;q=0.8')).toBe('gzip')
  })

  it('breaks a q-value tie with the server order of encodings', async () => {
    expect(await encodingFor('br, gzip')).toBe('gzip')
  })

  it('answers identity;q=0, *;q=0 with an unencoded 200', async () => {
    expect(await encodingFor('identity;q=0, *;q=0')).toBeUndefined()
  })

  it('sends identity for an empty Accept-Encoding', async () => {
    expect(await encodingFor()).toBeUndefined()
  })

  it('answers a 14 KB malformed Accept-Encoding (near the 16 KB header limit) without compressing', async () => {
    expect(await encodingFor('gzip;q=abc, ;;, '.repeat(900))).toBeUndefined()
  })

  it('does not offer a coding left out of encodings', async () => {
    expect(await encodingFor('deflate')).toBeUndefined()
  })
})

describe('Vary', () => {
  const app = appWith(compression(), (a) => {
    a.get('/origin', (_req, res) => {
      res.setHeader('Vary', 'Origin')
      res.json(body1k)
    })
    a.get('/already', (_req, res) => {
      res.setHeader('Vary', 'accept-encoding')
      res.json(body1k)
    })
    a.get('/json', (_req, res) => {
      res.json(body1k)
    })
  })

  it('merges Accept-Encoding into an existing Vary', async () => {
    const res = await raw(request(app).get('/origin').set('Accept-Encoding', 'gzip'))
    expect(res.headers.vary).toBe('Origin, Accept-Encoding')
  })

  it('does not repeat Accept-Encoding already in Vary', async () => {
    const res = await raw(request(app).get('/already').set('Accept-Encoding', 'gzip'))
    expect(res.headers.vary).toBe('accept-encoding')
  })

  it('sets Vary on a compressible response sent to an identity client', async () => {
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'identity'))
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBe('Accept-Encoding')
  })
})

describe('ETag', () => {
  const app = appWith(compression(), (a) => {
    a.get('/strong', (_req, res) => {
      res.setHeader('ETag', '"abc"')
      res.json(body1k)
    })
    a.get('/weak', (_req, res) => {
      res.setHeader('ETag', 'W/"abc"')
      res.json(body1k)
    })
  })

  it('weakens a strong ETag when the body is compressed', async () => {
    const res = await raw(request(app).get('/strong').set('Accept-Encoding', 'gzip'))
    expect(res.headers.etag).toBe('W/"abc"')
  })

  it('leaves a weak ETag as it is', async () => {
    const res = await raw(request(app).get('/weak').set('Accept-Encoding', 'gzip'))
    expect(res.headers.etag).toBe('W/"abc"')
  })

  it('keeps a strong ETag strong when the body is sent unencoded', async () => {
    const res = await raw(request(app).get('/strong').set('Accept-Encoding', 'identity'))
    expect(res.headers.etag).toBe('"abc"')
  })
})
