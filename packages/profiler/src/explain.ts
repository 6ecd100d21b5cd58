import type { IndexAdvice, Logger } from '@hotpath/core'
import type { Shape } from './queries'
import type { Driver } from './usage'

export type Dialect = IndexAdvice['dialect']

/** Where a sampled query's EXPLAIN runs: a connection of the same database, rows back. */
export interface ExplainTarget {
  readonly dialect: Dialect
  readonly driver: Driver
  exec(sql: string, values?: unknown): Promise<unknown[]> | unknown[]
  /** Releases what `exec` used (a connection opened for it). */
  done?(): Promise<void> | void
}

/** Builds the target from what the driver wrap saw (a client, a statement, a knex client). */
export type TargetFactory = (ctx: unknown) => ExplainTarget | undefined

export interface ExplainConfig {
  readonly minDurationNs: number
  readonly sampleEvery: number
  readonly minRows: number
}

interface Scan {
  table: string
  condition: string
  rows: number | undefined
}

const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'where',
  'select',
  'from',
  'on',
  'case',
  'when',
  'then',
  'else',
  'null',
])
const STRING = /'(?:[^']|'')*'/g
const COLUMN =
  /(?:[`"]?(\w+)[`"]?\.)?[`"]?([A-Za-z_]\w*)[`"]?\)?(?:::[A-Za-z ]+)?\)?\s*(?:=|<>|!=|<=|>=|<|>|~~|\bLIKE\b|\bILIKE\b|\bIN\b|\bIS\b|\bBETWEEN\b)/gi

/**
 * Opt-in missing-index advice: for a slow shape (or one with advice, to see it go once the index
 * exists), every `sampleEvery`-th execution is EXPLAINed after the response, one at a time per
 * profiler, with that execution's parameters held only by this call. A sequential / full scan of
 * a table of at least `minRows` rows becomes advice naming the table and the filtered columns.
 */
export class Explainer {
  private readonly config: ExplainConfig
  private readonly log: Logger & { warnOnce(code: string, msg: string): void }
  private readonly internal: <T>(fn: () => T) => T
  private busy = false

  constructor(
    config: ExplainConfig,
    log: Logger & { warnOnce(code: string, msg: string): void },
    internal: <T>(fn: () => T) => T,
  ) {
    this.config = config
    this.log = log
    this.internal = internal
  }

  consider(
    shape: Shape,
    ns: number,
    factory: TargetFactory,
    ctx: unknown,
    sql: string,
    values: unknown,
  ): void {
    if (ns < this.config.minDurationNs && shape.advice === null) return
    if (shape.sampled++ % this.config.sampleEvery !== 0 || this.busy) return
    if (!/^\s*(select|with)\b/i.test(sql)) return
    let target: ExplainTarget | undefined
    try {
      target = factory(ctx)
    } catch {
      target = undefined
    }
    if (target === undefined) return
    this.busy = true
    const params = values
    const chosen = target
    setImmediate(() => {
      this.internal(() => this.explain(shape, chosen, sql, params))
        .catch((err: unknown) => {
          this.log.warnOnce(
            'ERR_HOTPATH_PROFILER_EXPLAIN',
            `@hotpath/profiler: EXPLAIN of a sampled query failed (${errorText(err)}); no index advice for it.`,
          )
        })
        .finally(() => {
          this.busy = false
        })
    })
  }

  private async explain(shape: Shape, target: ExplainTarget, sql: string, values: unknown) {
    try {
      const scans = await scansOf(target, sql, values)
      const advice: IndexAdvice[] = []
      for (const scan of scans) {
        const rows = scan.rows ?? (await tableRows(target, scan.table))
        if (rows < this.config.minRows) continue
        const where = target.dialect === 'sqlite' ? whereOf(shape.shape) : scan.condition
        const columns = columnsOf(where, scan.table)
        if (columns.length === 0) continue
        advice.push({
          shape: shape.shape,
          table: scan.table,
          columns,
          rows: Math.round(rows),
          dialect: target.dialect,
          driver: target.driver,
          suggestion: `CREATE INDEX idx_${scan.table}_${columns.join('_')} ON ${scan.table} (${columns.join(', ')})`,
          checkedAt: new Date().toISOString(),
        })
      }
      shape.advice = advice.length > 0 ? advice : null
    } finally {
      // Released in the background: the next sample need not wait for a connection to close.
      Promise.resolve()
        .then(() => target.done?.())
        .catch(() => {})
    }
  }
}

async function scansOf(target: ExplainTarget, sql: string, values: unknown): Promise<Scan[]> {
  const scans: Scan[] = []
  if (target.dialect === 'postgres') {
    const rows = (await target.exec(`EXPLAIN (FORMAT JSON) ${sql}`, values)) as Array<Record<string, unknown>>
    walk(jsonOf(rows[0]?.['QUERY PLAN']), (node) => {
      if (node['Node Type'] === 'Seq Scan' && typeof node['Relation Name'] === 'string') {
        scans.push({ table: node['Relation Name'], condition: String(node.Filter ?? ''), rows: undefined })
      }
    })
  } else if (target.dialect === 'mysql') {
    const rows = (await target.exec(`EXPLAIN FORMAT=JSON ${sql}`, values)) as Array<Record<string, unknown>>
    walk(jsonOf(rows[0]?.EXPLAIN), (node) => {
      if (node.access_type === 'ALL' && typeof node.table_name === 'string') {
        scans.push({
          table: node.table_name,
          condition: String(node.attached_condition ?? ''),
          rows: typeof node.rows === 'number' ? node.rows : undefined,
        })
      }
    })
  } else {
    const rows = (await target.exec(`EXPLAIN QUERY PLAN ${sql}`, values)) as Array<Record<string, unknown>>
    for (const row of rows) {
      const m = /^SCAN (?:TABLE )?(\w+)(?: AS \w+)?$/.exec(String(row.detail ?? ''))
      if (m !== null) scans.push({ table: m[1] as string, condition: '', rows: undefined })
    }
  }
  return scans
}

async function tableRows(target: ExplainTarget, table: string): Promise<number> {
  const ident = `"${table.replace(/"/g, '""')}"`
  if (target.dialect === 'postgres') {
    // The planner's estimate of the whole table (it reads the table's size even before ANALYZE).
    const rows = (await target.exec(`EXPLAIN (FORMAT JSON) SELECT * FROM ${ident}`)) as Array<
      Record<string, unknown>
    >
    const plan = (jsonOf(rows[0]?.['QUERY PLAN']) as Array<{ Plan?: { 'Plan Rows'?: number } }>)[0]
    return Number(plan?.Plan?.['Plan Rows'] ?? 0)
  }
  const rows = (await target.exec(`SELECT count(*) AS n FROM ${ident}`)) as Array<{ n: number }>
  return Number(rows[0]?.n ?? 0)
}

function jsonOf(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value
}

function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit)
  } else if (value !== null && typeof value === 'object') {
    visit(value as Record<string, unknown>)
    for (const v of Object.values(value)) if (typeof v === 'object') walk(v, visit)
  }
}

/** The WHERE clause of a shape (for SQLite, whose plan names no condition). */
function whereOf(shape: string): string {
  const m = /\bwhere\b([\s\S]*?)(?:\border by\b|\bgroup by\b|\blimit\b|$)/i.exec(shape)
  return m === null ? '' : (m[1] as string)
}

/** Column identifiers compared in a condition; string literals are dropped first, never kept. */
export function columnsOf(condition: string, table: string): string[] {
  const text = condition.replace(STRING, '?')
  const out: string[] = []
  for (const m of text.matchAll(COLUMN)) {
    const qualifier = m[1]
    const column = (m[2] as string).toLowerCase()
    if (qualifier !== undefined && qualifier.toLowerCase() !== table.toLowerCase()) continue
    if (KEYWORDS.has(column) || /^\d/.test(column) || out.includes(column)) continue
    out.push(column)
  }
  return out
}

function errorText(err: unknown): string {
  // Only the driver's error code: a message can quote the statement's values.
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'no error code'
}
