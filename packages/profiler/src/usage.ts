import type { CallSites } from './callsite'
import type { Shape } from './queries'

/** Which client ran a query; decides the fix hint. */
export type Driver = 'pg' | 'mysql2' | 'better-sqlite3' | 'knex' | 'ioredis' | 'custom'

/** Distinct parameter sets remembered per shape per request (duplicate detection). */
const MAX_KEYS = 64
const MAX_KEY = 2048

/**
 * One shape's use inside one request. Parameter values live here only while the request runs
 * (to tell a duplicate from an N+1) and are dropped with it; no report ever reads them.
 */
export class ShapeUse {
  readonly shape: Shape
  readonly driver: Driver
  count = 0
  ns = 0
  run = 0
  runNs = 0
  maxRun = 0
  maxRunNs = 0
  sites: string[] | null = null
  dupes = 0
  private firstSql: string | undefined = undefined
  private firstValues: unknown = undefined
  private keys: Map<string, number> | null = null

  constructor(shape: Shape, driver: Driver) {
    this.shape = shape
    this.driver = driver
  }

  /**
   * Counts one execution; `values === null` means the parameters are unknown (no duplicates).
   * `callSite` reads the application frame that called `below` (the driver wrap's entry).
   */
  begin(
    sql: string,
    values: unknown,
    consecutive: boolean,
    callSite: CallSites,
    // biome-ignore lint/complexity/noBannedTypes: see CallSites.
    below: Function,
  ): void {
    const n = ++this.count
    this.run = consecutive ? this.run + 1 : 1
    if (!consecutive) this.runNs = 0
    if (this.run > this.maxRun) this.maxRun = this.run
    // A stack only for the 2nd and 3rd run: enough to name the loop, and never one per query.
    if (n === 2 || n === 3) {
      const site = callSite(below)
      if (site !== undefined) {
        if (this.sites === null) this.sites = [site]
        else if (!this.sites.includes(site)) this.sites.push(site)
      }
    }
    if (values === null) return
    if (n === 1) {
      this.firstSql = sql
      this.firstValues = values
      return
    }
    if (this.keys === null) {
      this.keys = new Map([[fingerprint(this.firstSql as string, this.firstValues), 1]])
      this.firstSql = undefined
      this.firstValues = undefined
    }
    const key = fingerprint(sql, values)
    const seen = this.keys.get(key)
    if (seen !== undefined) {
      this.keys.set(key, seen + 1)
      if (seen > this.dupes) this.dupes = seen
    } else if (this.keys.size < MAX_KEYS) {
      this.keys.set(key, 1)
    }
  }

  end(ns: number, current: boolean): void {
    this.ns += ns
    if (!current) return
    this.runNs += ns
    if (this.runNs > this.maxRunNs) this.maxRunNs = this.runNs
  }
}

/** The query text and its parameters as one comparable string (held only during the request). */
function fingerprint(sql: string, values: unknown): string {
  let key = sql
  if (Array.isArray(values)) {
    for (const v of values) {
      key += `\u0000${valueKey(v)}`
      if (key.length > MAX_KEY) break
    }
  } else if (values !== undefined) {
    key += `\u0000${valueKey(values)}`
  }
  return key.length > MAX_KEY ? key.slice(0, MAX_KEY) : key
}

function valueKey(v: unknown): string {
  if (v === null || v === undefined) return 'N'
  const t = typeof v
  if (t === 'string') return `s${v as string}`
  if (t === 'number' || t === 'bigint' || t === 'boolean') return `${t[0]}${String(v)}`
  if (v instanceof Date) return `d${v.getTime()}`
  if (Buffer.isBuffer(v)) return `b${v.toString('base64', 0, 512)}`
  try {
    return `j${JSON.stringify(v)}`
  } catch {
    return 'o'
  }
}

const N_PLUS_ONE_HINTS: Record<Driver, string> = {
  pg: 'Fetch the rows in one query: WHERE id = ANY($1) with an array of ids, or a JOIN, instead of one query per row.',
  mysql2:
    'Fetch the rows in one query: WHERE id IN (?) with an array of ids, or a JOIN, instead of one query per row.',
  'better-sqlite3':
    'Fetch the rows in one statement: WHERE id IN (SELECT value FROM json_each(?)) or a JOIN, instead of one statement per row.',
  knex: "Load the related rows at once: .whereIn('id', ids) or a .join(), instead of one query per row.",
  ioredis: 'Read the keys in one round trip: MGET / HMGET or a pipeline, instead of one command per item.',
  custom:
    'Batch the lookups (a per-request loader such as DataLoader, or WHERE id IN (…)) instead of one query per item.',
}

export function nPlusOneHint(driver: Driver): string {
  return N_PLUS_ONE_HINTS[driver]
}

export function duplicateHint(driver: Driver): string {
  const what = driver === 'ioredis' ? 'command' : 'query'
  return `The same ${what} with the same parameters ran more than once in one request: keep the first result for the request (memoize per request) or pass it down.`
}
