/**
 * Product reviews in SQLite (better-sqlite3, an optional dependency): the route that reads them
 * has a deliberate N+1 — one author lookup per review — so the profiler's queries panel has
 * something to show. The fix is in the comment beside the loop. Without better-sqlite3 (not
 * installed, or its native build does not load) the app still starts and the route says why.
 */
type Statement = {
  all(...args: unknown[]): unknown[]
  get(...args: unknown[]): unknown
  run(...args: unknown[]): unknown
}
type Db = { prepare(sql: string): Statement; exec(sql: string): void; close(): void }
type DatabaseClass = new (file: string) => Db

export interface Review {
  id: number
  productId: number
  stars: number
  text: string
  author: { id: number; name: string } | undefined
}

export type Reviews =
  | { ok: true; module: unknown; latest(limit: number): Review[]; close(): void }
  | { ok: false; reason: string; close(): void }

export function openReviews(): Reviews {
  let Database: DatabaseClass
  let db: Db
  try {
    Database = require('better-sqlite3') as DatabaseClass
    db = new Database(':memory:')
  } catch (err) {
    const reason = `better-sqlite3 is not available (${(err as Error).message.split('\n')[0]}); install it to enable /api/reviews.`
    return { ok: false, reason, close() {} }
  }
  db.exec(`
    CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER, author_id INTEGER, stars INTEGER, text TEXT);
  `)
  const addAuthor = db.prepare('INSERT INTO authors (id, name) VALUES (?, ?)')
  const addReview = db.prepare(
    'INSERT INTO reviews (id, product_id, author_id, stars, text) VALUES (?, ?, ?, ?, ?)',
  )
  for (let i = 1; i <= 12; i++) addAuthor.run(i, `reviewer ${i}`)
  for (let i = 1; i <= 60; i++) addReview.run(i, (i % 20) + 1, (i % 12) + 1, (i % 5) + 1, `review ${i}`)

  const recent = db.prepare(
    'SELECT id, product_id, author_id, stars, text FROM reviews ORDER BY id DESC LIMIT ?',
  )
  const author = db.prepare('SELECT id, name FROM authors WHERE id = ?')
  return {
    ok: true,
    module: Database,
    latest(limit) {
      const rows = recent.all(limit) as Array<{
        id: number
        product_id: number
        author_id: number
        stars: number
        text: string
      }>
      // Deliberate N+1: one author query per review. The fix is one query for all of them:
      //   SELECT id, name FROM authors WHERE id IN (SELECT value FROM json_each(?))  -- ids as JSON
      return rows.map((r) => ({
        id: r.id,
        productId: r.product_id,
        stars: r.stars,
        text: r.text,
        author: author.get(r.author_id) as Review['author'],
      }))
    },
    close: () => db.close(),
  }
}
