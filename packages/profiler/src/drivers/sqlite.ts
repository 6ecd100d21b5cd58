import type { ExplainTarget } from '../explain'
import type { Recorder } from '../recorder'
import { addWrap, type Method } from '../wrap'
import { beginAll, endAll, type Runs } from './common'

type Fn = Method

interface Statement {
  source: string
  database: Database
  reader: boolean
}

interface Database {
  prepare(sql: string): { all(...args: unknown[]): unknown[] }
  close(): void
}

type DatabaseClass = new (file: string) => Database

const METHODS = ['run', 'get', 'all'] as const

/**
 * better-sqlite3 publishes nothing, and runs synchronously: `Statement.prototype` `run`, `get`,
 * `all` are wrapped (the duration is the call), and `iterate` until its iterator is done or
 * closed. The native Statement prototype is reached through a throw-away in-memory database.
 */
export function instrumentSqlite(betterSqlite3: unknown, recorder: Recorder): (() => void) | undefined {
  if (typeof betterSqlite3 !== 'function') return undefined
  let proto: object
  try {
    const db = new (betterSqlite3 as DatabaseClass)(':memory:')
    proto = Object.getPrototypeOf(db.prepare('SELECT 1'))
    db.close()
  } catch {
    return undefined
  }
  const undo = METHODS.map((m) => addWrap(proto, m, recorder, makeSync))
  undo.push(addWrap(proto, 'iterate', recorder, makeIterate))
  return () => {
    for (const u of undo) u()
  }
}

/** Bound parameters as better-sqlite3 takes them: positional arguments, an array, or one object. */
function paramsOf(args: unknown[]): unknown {
  return args.length === 1 ? args[0] : args
}

function makeSync(original: Fn, sinks: readonly Recorder[]): Fn {
  return function statementCall(this: Statement, ...args: unknown[]): unknown {
    if (sinks.length === 0) return original.apply(this, args)
    const runs = beginAll(sinks, 'better-sqlite3', this.source, paramsOf(args), sqliteTarget, this)
    try {
      return original.apply(this, args)
    } finally {
      endAll(runs)
    }
  }
}

function makeIterate(original: Fn, sinks: readonly Recorder[]): Fn {
  return function iterate(this: Statement, ...args: unknown[]): unknown {
    if (sinks.length === 0) return original.apply(this, args)
    const runs = beginAll(sinks, 'better-sqlite3', this.source, paramsOf(args), sqliteTarget, this)
    let it: IterableIterator<unknown>
    try {
      it = original.apply(this, args) as IterableIterator<unknown>
    } catch (err) {
      endAll(runs)
      throw err
    }
    return endingIterator(it, runs)
  }
}

function endingIterator(it: IterableIterator<unknown>, runs: Runs): IterableIterator<unknown> {
  const wrapped: IterableIterator<unknown> = {
    next(...a: [] | [unknown]) {
      try {
        const r = it.next(...a)
        if (r.done) endAll(runs)
        return r
      } catch (err) {
        endAll(runs)
        throw err
      }
    },
    return(value?: unknown) {
      endAll(runs)
      return typeof it.return === 'function' ? it.return(value) : { done: true, value }
    },
    [Symbol.iterator]() {
      return wrapped
    },
  }
  return wrapped
}

/** EXPLAIN QUERY PLAN on the statement's own database, after the response (it is synchronous). */
function sqliteTarget(ctx: unknown): ExplainTarget | undefined {
  const statement = ctx as Statement
  const db = statement?.database
  if (db === undefined || !statement.reader) return undefined
  return {
    dialect: 'sqlite',
    driver: 'better-sqlite3',
    exec(sql, values) {
      const prepared = db.prepare(sql)
      if (values === undefined) return prepared.all()
      return Array.isArray(values) ? prepared.all(...values) : prepared.all(values)
    },
  }
}
