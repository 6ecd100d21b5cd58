import type { Dialect, ExplainTarget } from '../explain'
import type { Recorder } from '../recorder'
import { addWrap, type Method, ownerOf } from '../wrap'
import { beginAll, endAll, endOnSettle } from './common'

type Fn = Method

interface KnexQuery {
  sql?: unknown
  bindings?: unknown
}

interface KnexClient {
  dialect?: string
  driverName?: string
  query(connection: unknown, obj: KnexQuery & { method?: string }): Promise<unknown>
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): Promise<unknown>
}

/**
 * knex: the base `Client.prototype.query(connection, obj)` that every dialect inherits, which
 * knex calls once per statement right after emitting its 'query' event and whose promise
 * settles before 'query-response' / 'query-error'. One wrap there sees every knex instance
 * (events are per instance), times exactly the driver call, and — through `suppressed`, raised
 * for the synchronous call — keeps the driver wrap under it from counting the query again.
 * Takes the knex module or a knex instance.
 */
export function instrumentKnex(knex: unknown, recorder: Recorder): (() => void) | undefined {
  const k = knex as { Client?: { prototype: object }; client?: object } | null
  if (k === null || (typeof k !== 'function' && typeof k !== 'object')) return undefined
  const proto = k.Client?.prototype ?? (k.client === undefined ? undefined : Object.getPrototypeOf(k.client))
  const owner = proto === undefined ? undefined : ownerOf(proto, 'query')
  if (owner === undefined) return undefined
  return addWrap(owner, 'query', recorder, makeQuery)
}

function makeQuery(original: Fn, sinks: readonly Recorder[]): Fn {
  return function query(this: KnexClient, connection: unknown, obj: KnexQuery): unknown {
    if (sinks.length === 0 || obj === null || typeof obj !== 'object' || typeof obj.sql !== 'string') {
      return original.call(this, connection, obj)
    }
    const runs = beginAll(sinks, 'knex', obj.sql, obj.bindings ?? undefined, knexTarget, this)
    for (const s of sinks) s.suppressed++
    let result: unknown
    try {
      result = original.call(this, connection, obj)
    } catch (err) {
      endAll(runs)
      throw err
    } finally {
      for (const s of sinks) s.suppressed--
    }
    endOnSettle(runs, result)
    return result
  }
}

const DIALECTS: Record<string, Dialect> = {
  pg: 'postgres',
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mysql2: 'mysql',
  'better-sqlite3': 'sqlite',
  sqlite3: 'sqlite',
}

/** EXPLAIN through the same knex client: a connection from its pool, its dialect's raw rows. */
function knexTarget(ctx: unknown): ExplainTarget | undefined {
  const client = ctx as KnexClient
  const dialect = DIALECTS[client?.driverName ?? ''] ?? DIALECTS[client?.dialect ?? '']
  if (dialect === undefined) return undefined
  return {
    dialect,
    driver: 'knex',
    async exec(sql, values) {
      const connection = await client.acquireConnection()
      try {
        const bindings = Array.isArray(values) ? values : []
        // `query` (not `_query`): it positions the bindings (`?` → `$1` on PostgreSQL).
        const out = (await client.query(connection, { sql, bindings, method: 'raw' })) as {
          response: unknown
        }
        return rowsOf(dialect, out.response)
      } finally {
        await client.releaseConnection(connection)
      }
    },
  }
}

function rowsOf(dialect: Dialect, response: unknown): unknown[] {
  if (dialect === 'postgres') return (response as { rows: unknown[] }).rows
  if (dialect === 'mysql') return (response as unknown[][])[0] as unknown[]
  return response as unknown[]
}
