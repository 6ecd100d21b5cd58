import http from 'node:http'
import type { Request, Response } from 'express'
import pg from 'pg'
import QueryStream from 'pg-query-stream'
import { express } from '../../../test/helpers/express'
import { describePostgres } from '../../../test/helpers/sql'
import { fields } from '../src'
import { type Served, serve, until } from './http'

describePostgres('res.stream from pg-query-stream on a real PostgreSQL', (server) => {
  let pool: pg.Pool
  const servers: Served[] = []

  beforeAll(async () => {
    pool = new pg.Pool({ ...server.current.connection, max: 2 })
    await pool.query('DROP TABLE IF EXISTS rows')
    await pool.query('CREATE TABLE rows (id integer PRIMARY KEY, name text, secret text)')
    await pool.query(
      "INSERT INTO rows SELECT i, 'row ' || i, repeat('x', 200) FROM generate_series(0, 19999) AS i",
    )
  })
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
    await pool.end()
  })

  async function app() {
    const results: Array<{ aborted: boolean; completed: boolean }> = []
    const a = express()
    a.use(fields())
    a.get('/rows', async (_req: Request, res: Response) => {
      const client = await pool.connect()
      const cursor = client.query(new QueryStream('SELECT * FROM rows ORDER BY id', [], { batchSize: 100 }))
      try {
        results.push((await res.stream?.(cursor, { format: 'ndjson' })) as never)
      } finally {
        client.release()
      }
    })
    const s = await serve(a)
    servers.push(s)
    return { s, results }
  }

  it('streams every row, masked', async () => {
    const { s } = await app()
    const r = await s.get('/rows?fields=-secret')
    const lines = r.text.trimEnd().split('\n')
    expect(lines).toHaveLength(20_000)
    expect(JSON.parse(lines[19_999] as string)).toEqual({ id: 19_999, name: 'row 19999' })
  })

  it('closes the cursor and frees the connection when the client disconnects', async () => {
    const { s, results } = await app()
    await new Promise<void>((resolve) => {
      const req = http.get({ port: s.port, host: '127.0.0.1', path: '/rows', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
    })
    await until(() => results.length === 1)
    expect(results[0]).toMatchObject({ aborted: true, completed: false })
    // Both pool connections are usable again: the cursor's was released, not left mid-query.
    await until(() => pool.idleCount === pool.totalCount)
    const [a, b] = await Promise.all([pool.query('SELECT 1 AS one'), pool.query('SELECT 2 AS two')])
    expect([a.rows[0], b.rows[0]]).toEqual([{ one: 1 }, { two: 2 }])
  })
})
