// A SQLite table of `rows` rows (better-sqlite3, a file in the temp directory) served whole by
// `GET /json` (res.json of .all()) and `GET /stream` (res.stream of the .iterate() cursor);
// `GET /drain` reads the same cursor to the end and sends only the row count: the memory any
// reader of those rows pays (better-sqlite3's row objects filling V8's young generation, SQLite's
// page cache), the floor under /stream. `?limit=n` serves the first n rows. `GET /__mem` runs gc
// (when exposed) and answers the process's current RSS and its peak (getrusage maxrss) in bytes.
// `GET /__first` answers (and forgets) the server-side times from a request's arrival to its
// first body write, in ms.
// The table is written by a child process: inserting 10^5–10^6 rows in the server's own process
// would grow its heap for a reason that is not what is measured.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fields } from '@hotpath/json'
import Database from 'better-sqlite3'
import express from 'express'

function build(file, rows) {
  const db = new Database(file)
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
  db.close()
}

if (process.argv[2] === '--build') build(process.argv[3], Number(process.argv[4]))

export default function server(options = {}) {
  const rows = options.rows ?? 100_000
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-json-bench-'))
  const file = join(dir, 'rows.db')
  const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--build', file, String(rows)], {
    stdio: 'inherit',
  })
  if (made.status !== 0) throw new Error(`building the table failed (exit ${made.status})`)
  const db = new Database(file)
  const all = db.prepare('SELECT * FROM rows ORDER BY id LIMIT ?')
  // A cursor holds its connection while it is open: each stream gets a connection of its own.
  const cursorDb = new Database(file, { readonly: true })
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
  app.get('/drain', (req, res) => {
    let n = 0
    for (const _row of cursor.iterate(limitOf(req))) n++
    res.end(String(n))
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
