import { Readable } from 'node:stream'
import Database from 'better-sqlite3'
import type { Request, RequestHandler, Response } from 'express'
import knex, { type Knex } from 'knex'
import { express } from '../../../test/helpers/express'
import { type FieldsOptions, fields, stream } from '../src'
import { get, type Served, serve, sleep, until } from './http'

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function logger() {
  const errors: string[] = []
  return { errors, logger: { warn: () => {}, error: (m: string) => void errors.push(m) } }
}

async function app(handler: RequestHandler, options: FieldsOptions = {}) {
  const json = fields(options)
  const a = express()
  a.use(json)
  a.get('/s', handler)
  const s = await serve(a)
  servers.push(s)
  return { json, s }
}

const rows = (n: number) => Array.from({ length: n }, (_, id) => ({ id, name: `row ${id}`, secret: 'x' }))

/** A source that counts what was pulled and says whether it was closed. */
function counted(n: number, size = 10, failAt = -1) {
  const state = { pulled: 0, closed: false }
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error('database went away')
        state.pulled++
        yield { id: i, pad: 'p'.repeat(size) }
      }
    } finally {
      state.closed = true
    }
  }
  return { state, source: gen() }
}

describe('res.stream', () => {
  it('writes an array as a JSON array', async () => {
    const { s } = await app((_req, res) => void res.stream?.(rows(3)))
    const r = await s.get('/s')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(r.headers['transfer-encoding']).toBe('chunked')
    expect(r.text).toBe(JSON.stringify(rows(3)))
    expect(r.complete).toBe(true)
  })

  it('writes NDJSON lines', async () => {
    const { s } = await app((_req, res) => void res.stream?.(rows(2), { format: 'ndjson' }))
    const r = await s.get('/s')
    expect(r.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    expect(r.text).toBe(`${JSON.stringify(rows(2)[0])}\n${JSON.stringify(rows(2)[1])}\n`)
  })

  it('writes [] and an empty NDJSON body for an empty source', async () => {
    const { s } = await app(
      (req, res) => void res.stream?.([], { format: req.query.f === 'n' ? 'ndjson' : 'json' }),
    )
    expect((await s.get('/s')).text).toBe('[]')
    expect((await s.get('/s?f=n')).text).toBe('')
  })

  it('applies req.fields to every item', async () => {
    const { s } = await app((_req, res) => void res.stream?.(rows(2)))
    expect((await s.get('/s?fields=-secret')).text).toBe('[{"id":0,"name":"row 0"},{"id":1,"name":"row 1"}]')
  })

  it('takes a mask the server wrote, over req.fields', async () => {
    const { s } = await app((_req, res) => void res.stream?.(rows(2), { fields: 'id' }))
    expect((await s.get('/s?fields=name')).text).toBe('[{"id":0},{"id":1}]')
  })

  it('serializes items with a compiled item schema, masked', async () => {
    const item = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }
    const { s } = await app((_req, res) => void res.stream?.(rows(2), { schema: item }))
    expect((await s.get('/s')).text).toBe('[{"id":0,"name":"row 0"},{"id":1,"name":"row 1"}]')
    expect((await s.get('/s?fields=name')).text).toBe('[{"name":"row 0"},{"name":"row 1"}]')
  })

  it('answers HEAD with the headers of GET and pulls nothing from the source', async () => {
    const { state, source } = counted(10)
    const { s } = await app((_req, res) => void res.stream?.(source, { format: 'ndjson' }))
    const r = await new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
      const http = require('node:http') as typeof import('node:http')
      const req = http.request(
        { port: s.port, host: '127.0.0.1', path: '/s', method: 'HEAD', agent: false },
        (res) => {
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] }))
        },
      )
      req.on('error', reject)
      req.end()
    })
    expect(r).toEqual({ status: 200, type: 'application/x-ndjson; charset=utf-8' })
    expect(state.pulled).toBe(0)
  })

  it('uses the status option', async () => {
    const { s } = await app((_req, res) => void res.stream?.([1], { status: 206 }))
    expect((await s.get('/s')).status).toBe(206)
  })

  it('streams from an async generator', async () => {
    const { source } = counted(3)
    const { s } = await app((_req, res) => void res.stream?.(source))
    expect(JSON.parse((await s.get('/s')).text)).toHaveLength(3)
  })

  it('streams from an object-mode Readable', async () => {
    const { s } = await app((_req, res) => void res.stream?.(Readable.from(rows(50))))
    expect((await s.get('/s')).text).toBe(JSON.stringify(rows(50)))
  })

  it('resolves with what was written', async () => {
    let result: unknown
    const { s } = await app(async (_req, res) => {
      result = await res.stream?.(rows(5))
    })
    const r = await s.get('/s')
    await until(() => result !== undefined)
    expect(result).toEqual({ items: 5, bytes: r.body.length, completed: true, aborted: false })
  })

  it('answers a source that is not iterable with ERR_HOTPATH_STREAM_SOURCE (thrown, so next(err))', async () => {
    const a = express()
    a.use(fields())
    a.get('/s', (_req, res) => void res.stream?.(42))
    a.use(
      (err: { code?: string }, _req: Request, res: Response, _next: unknown) =>
        void res.status(500).send(err.code),
    )
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/s')).text).toBe('ERR_HOTPATH_STREAM_SOURCE')
  })

  it('counts streams, items and bytes per route in stats()', async () => {
    const { s, json } = await app((_req, res) => void res.stream?.(rows(4)))
    const r = await s.get('/s')
    await until(() => json.stats().routes['GET /s']?.streams === 1)
    expect(json.stats().routes['GET /s']).toMatchObject({
      streams: 1,
      streamedItems: 4,
      streamedBytes: r.body.length,
    })
  })
})

describe('chunking', () => {
  it('writes the items of a slow source without waiting for a full chunk', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    async function* source() {
      yield { id: 0 }
      yield { id: 1 }
      await gate
      yield { id: 2 }
    }
    const { s } = await app((_req, res) => void res.stream?.(source()))
    const http = require('node:http') as typeof import('node:http')
    const seen = await new Promise<string>((resolve) => {
      http.get({ port: s.port, host: '127.0.0.1', path: '/s', agent: false }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => {
          text += c.toString()
          if (text.includes('"id":1')) {
            resolve(text)
            release()
          }
        })
      })
    })
    expect(seen).toBe('[{"id":0},{"id":1}')
  })

  it('writes in chunks of about chunkSize characters', async () => {
    const sizes: number[] = []
    const { s } = await app((_req, res) => {
      const write = res.write.bind(res)
      res.write = ((chunk: string) => {
        sizes.push(chunk.length)
        return write(chunk)
      }) as typeof res.write
      void res.stream?.(
        Array.from({ length: 1000 }, (_, id) => ({ id, pad: 'x'.repeat(90) })),
        { chunkSize: 4096 },
      )
    })
    await s.get('/s')
    // The first item alone (time to first byte), then chunks just over 4096 characters.
    expect(sizes[0]).toBeLessThan(200)
    for (const size of sizes.slice(1, -1)) {
      expect(size).toBeGreaterThanOrEqual(4096)
      expect(size).toBeLessThan(4096 + 200)
    }
  })
})

describe('database cursors', () => {
  let db: Database.Database
  beforeAll(() => {
    db = new Database(':memory:')
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, secret TEXT)')
    const insert = db.prepare('INSERT INTO t (id, name, secret) VALUES (?, ?, ?)')
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(i, `row ${i}`, 'x'.repeat(200))
    })()
  })
  afterAll(() => db.close())

  it('streams a better-sqlite3 .iterate() cursor, masked', async () => {
    const { s } = await app(
      (_req, res) => void res.stream?.(db.prepare('SELECT * FROM t ORDER BY id').iterate()),
    )
    const r = await s.get('/s?fields=id')
    const body = JSON.parse(r.text) as Array<{ id: number }>
    expect(body).toHaveLength(5000)
    expect(body[4999]).toEqual({ id: 4999 })
  })

  it('releases a better-sqlite3 cursor when the client goes away (the connection is usable again)', async () => {
    let result: { aborted: boolean } | undefined
    const { s } = await app(async (_req, res) => {
      result = (await res.stream?.(db.prepare('SELECT * FROM t ORDER BY id').iterate(), {
        chunkSize: 1024,
      })) as never
    })
    await new Promise<void>((resolve) => {
      const req = require('node:http').get(
        { port: s.port, host: '127.0.0.1', path: '/s', agent: false },
        (res: import('node:http').IncomingMessage) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        },
      )
    })
    await until(() => result !== undefined)
    expect(result?.aborted).toBe(true)
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 5000 })
  })

  it('streams a knex .stream() (better-sqlite3 client)', async () => {
    const k: Knex = knex({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    })
    try {
      await k.schema.createTable('t', (t) => {
        t.integer('id')
        t.string('name')
      })
      await k('t').insert(Array.from({ length: 300 }, (_, id) => ({ id, name: `n${id}` })))
      const { s } = await app(
        (req, res) =>
          void res.stream?.(
            k('t')
              .select(req.fields?.toColumns(['id', 'name']) ?? '*')
              .orderBy('id')
              .stream(),
          ),
      )
      const r = await s.get('/s?fields=name')
      const body = JSON.parse(r.text) as Array<{ name: string }>
      expect(body).toHaveLength(300)
      expect(body[0]).toEqual({ name: 'n0' })
    } finally {
      await k.destroy()
    }
  })
})

describe('backpressure and disconnects', () => {
  it('stops pulling from the source while the client does not read, and finishes when it does', async () => {
    const total = 10_000
    const { state, source } = counted(total, 4000)
    let result: { completed: boolean } | undefined
    const { s } = await app(async (_req, res) => {
      result = (await res.stream?.(source, { format: 'ndjson' })) as never
    })
    let received = 0
    let lines = 0
    const http = require('node:http') as typeof import('node:http')
    let response!: import('node:http').IncomingMessage
    await new Promise<void>((resolve) => {
      http.get({ port: s.port, host: '127.0.0.1', path: '/s', agent: false }, (res) => {
        response = res
        res.pause()
        resolve()
      })
    })
    // The pulled count settles far below the total while nothing is read.
    let before = -1
    await until(() => {
      const settled = state.pulled === before
      before = state.pulled
      return settled && state.pulled > 0
    }, 8000)
    await sleep(200)
    expect(state.pulled).toBeLessThan(total / 2)
    expect(state.pulled).toBe(before)
    response.on('data', (c: Buffer) => {
      received += c.length
      for (const b of c) if (b === 10) lines++
    })
    const ended = new Promise((resolve) => response.on('end', resolve))
    response.resume()
    await ended
    await until(() => result !== undefined, 15_000)
    expect(result?.completed).toBe(true)
    expect(lines).toBe(total)
    expect(received).toBeGreaterThan(total * 4000)
  })

  it('stops and closes the source when the client disconnects', async () => {
    const { state, source } = counted(1_000_000, 100)
    let result: { aborted: boolean; completed: boolean } | undefined
    const { s, json } = await app(async (_req, res) => {
      result = (await res.stream?.(source)) as never
    })
    const http = require('node:http') as typeof import('node:http')
    await new Promise<void>((resolve) => {
      const req = http.get({ port: s.port, host: '127.0.0.1', path: '/s', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
    })
    await until(() => state.closed)
    expect(state.pulled).toBeLessThan(1_000_000)
    await until(() => result !== undefined)
    expect(result).toMatchObject({ aborted: true, completed: false })
    expect(json.stats().routes['GET /s']?.streamsAborted).toBe(1)
  })

  it('destroys an object-mode Readable when the client disconnects', async () => {
    let i = 0
    const readable = new Readable({
      objectMode: true,
      read() {
        setImmediate(() => this.push({ i: i++, pad: 'x'.repeat(500) }))
      },
    })
    const { s } = await app((_req, res) => void res.stream?.(readable))
    const http = require('node:http') as typeof import('node:http')
    await new Promise<void>((resolve) => {
      const req = http.get({ port: s.port, host: '127.0.0.1', path: '/s', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
    })
    await until(() => readable.destroyed)
    expect(readable.destroyed).toBe(true)
  })
})

describe('an error mid-stream', () => {
  it('cuts a JSON array short: the body is not valid JSON and the message is incomplete', async () => {
    const { errors, logger: log } = logger()
    const { state, source } = counted(100, 10, 50)
    const { s, json } = await app((_req, res) => void res.stream?.(source, { chunkSize: 64 }), {
      logger: log,
    })
    const r = await s.get('/s')
    expect(r.status).toBe(200)
    expect(r.complete).toBe(false)
    expect(r.text.startsWith('[{"id":0,')).toBe(true)
    expect(() => JSON.parse(r.text)).toThrow()
    expect(r.text.endsWith(']')).toBe(false)
    expect(state.closed).toBe(true)
    await until(() => errors.length > 0)
    expect(errors[0]).toContain('failed after 50 items (database went away)')
    expect(json.stats().routes['GET /s']?.streamErrors).toBe(1)
  })

  it('ends NDJSON with an error line, then an incomplete message', async () => {
    const { logger: log } = logger()
    const { state, source } = counted(100, 10, 50)
    const { s } = await app((_req, res) => void res.stream?.(source, { format: 'ndjson', chunkSize: 64 }), {
      logger: log,
    })
    const r = await s.get('/s')
    expect(r.complete).toBe(false)
    const lines = r.text.trimEnd().split('\n')
    expect(lines).toHaveLength(51)
    expect(JSON.parse(lines[49] as string)).toEqual({ id: 49, pad: 'pppppppppp' })
    expect(JSON.parse(lines[50] as string)).toEqual({
      error: {
        code: 'ERR_HOTPATH_STREAM_FAILED',
        message: 'the stream failed after 50 items; the response is incomplete',
      },
    })
    expect(state.closed).toBe(true)
  })

  it('answers 500 JSON when the source fails before its first item', async () => {
    const { logger: log } = logger()
    const { source } = counted(100, 10, 0)
    const { s } = await app((_req, res) => void res.stream?.(source), { logger: log })
    const r = await s.get('/s')
    expect(r.status).toBe(500)
    expect(r.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(r.text)).toEqual({
      error: { code: 'ERR_HOTPATH_STREAM_FAILED', message: 'the response could not be produced' },
    })
  })

  it('treats an item that cannot be serialized as a mid-stream error', async () => {
    const { errors, logger: log } = logger()
    const { s } = await app((_req, res) => void res.stream?.([{ a: 1 }, { b: 10n }], { chunkSize: 1 }), {
      logger: log,
    })
    const r = await s.get('/s')
    expect(r.complete).toBe(false)
    expect(r.text).toBe('[{"a":1}')
    await until(() => errors.length > 0)
  })
})

describe('stream(res, source) standalone', () => {
  it('writes a body without fields() mounted', async () => {
    const a = express()
    a.get('/s', (_req, res) => void stream(res, rows(2), { fields: 'id', format: 'ndjson' }))
    const s = await serve(a)
    servers.push(s)
    expect((await get(s.port, '/s')).text).toBe('{"id":0}\n{"id":1}\n')
  })

  it('serializes with an item schema', async () => {
    const a = express()
    const item = { type: 'object', properties: { name: { type: 'string' } } }
    a.get('/s', (_req, res) => void stream(res, rows(1), { schema: item }))
    const s = await serve(a)
    servers.push(s)
    expect((await get(s.port, '/s')).text).toBe('[{"name":"row 0"}]')
  })
})
