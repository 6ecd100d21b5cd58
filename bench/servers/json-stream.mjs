// A SQLite table of `rows` rows (better-sqlite3, a file in the temp directory) served whole by
// `GET /json` (res.json of .all()) and `GET /stream` (res.stream of the .iterate() cursor);
// `?limit=n` serves the first n rows. `GET /__mem` runs gc (when exposed) and answers the
// process's current RSS and its peak (getrusage maxrss) in bytes. `GET /__first` answers (and
// forgets) the server-side times from a request's arrival to its first body write, in ms.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fields } from '@hotpath/json'
import Database from 'better-sqlite3'
import express from 'express'

export default function server(options = {}) {
  const rows = options.rows ?? 100_000
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-json-bench-'))
  const db = new Database(join(dir, 'rows.db'))
  db.pragma('journal_mode = WAL')
  db.exec(
    'CREATE TABLE rows (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, price REAL, stock INTEGER, active INTEGER, note TEXT)',
  )
  const insert = db.prepare('INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      insert.run(
        i,
        `SKU-${i.toString(36)}`,
        `Product number ${i}`,
        9.99 + (i % 100),
        i % 17,
        i % 3,
        'n'.repeat(60),
      )
    }
  })()
  const all = db.prepare('SELECT * FROM rows ORDER BY id LIMIT ?')
  // A cursor holds its connection while it is open: each stream gets a connection of its own.
  const cursorDb = new Database(join(dir, 'rows.db'), { readonly: true })
  const cursor = cursorDb.prepare('SELECT * FROM rows ORDER BY id LIMIT ?')

  const app = express()
  const arrived = new WeakMap()
  const firstWrites = []
  app.use((_req, res, next) => {
    arrived.set(res, performance.now())
    const write = res.write
    // Bench only: the first write of /json's or /stream's body, seen from the server.
    res.write = function firstWrite(...args) {
      res.write = write
      firstWrites.push(performance.now() - arrived.get(res))
      return write.apply(this, args)
    }
    next()
  })
  app.use(fields())
  const limitOf = (req) => Number(req.query.limit) || rows
  app.get('/json', (req, res) => {
    res.json(all.all(limitOf(req)))
  })
  app.get('/stream', (req, res) => {
    void res.stream(cursor.iterate(limitOf(req)))
  })
  app.get('/__first', (_req, res) => {
    res.end(JSON.stringify(firstWrites.splice(0)))
  })
  app.get('/__mem', (_req, res) => {
    if (typeof globalThis.gc === 'function') globalThis.gc()
    res.json({ rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 })
  })
  return {
    listener: app,
    close: () => {
      db.close()
      cursorDb.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
