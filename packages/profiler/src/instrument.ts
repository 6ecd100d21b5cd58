import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import * as path from 'node:path'
import { didYouMean, HotpathError, type OnceLogger } from '@hotpath/core'
import { instrumentIoredis } from './drivers/ioredis'
import { instrumentKnex } from './drivers/knex'
import { instrumentMysql2 } from './drivers/mysql2'
import { instrumentPg } from './drivers/pg'
import { instrumentSqlite } from './drivers/sqlite'
import type { Recorder, Store } from './recorder'

const PKG = '@hotpath/profiler'

/** The driver modules `instrument()` takes (the module objects the app itself imported). */
export interface InstrumentModules {
  pg?: unknown
  mysql2?: unknown
  betterSqlite3?: unknown
  /** The knex module, or a knex instance. */
  knex?: unknown
  ioredis?: unknown
}

type Name = keyof InstrumentModules
const NAMES: readonly Name[] = ['pg', 'mysql2', 'betterSqlite3', 'knex', 'ioredis']
const PACKAGES: Record<Name, string> = {
  pg: 'pg',
  mysql2: 'mysql2',
  betterSqlite3: 'better-sqlite3',
  knex: 'knex',
  ioredis: 'ioredis',
}

export interface Instrumentation {
  instrument(modules: Readonly<InstrumentModules> | 'auto'): string[]
  uninstrument(): void
  names(): string[]
}

/**
 * Which drivers this profiler instruments, and the undo of each. The AsyncLocalStorage that
 * ties a query to its request exists only while something is instrumented: on Node 20 an
 * active AsyncLocalStorage costs every promise a hook, which an app that never instruments
 * should not pay.
 */
export function createInstrumentation(
  recorder: Recorder,
  log: OnceLogger,
  mysqlExplainPool: () => { query: (...a: never[]) => unknown } | undefined,
): Instrumentation {
  const undo = new Map<string, () => void>()

  function one(name: Name, mod: unknown, context: AsyncLocalStorage<Store>): void {
    const pkg = PACKAGES[name]
    if (undo.has(pkg)) return
    let done: (() => void) | undefined
    if (name === 'pg') done = instrumentPg(mod, recorder)
    else if (name === 'mysql2') done = instrumentMysql2(mod, recorder, context, mysqlExplainPool as never)
    else if (name === 'betterSqlite3') done = instrumentSqlite(mod, recorder)
    else if (name === 'knex') done = instrumentKnex(mod, recorder)
    else done = instrumentIoredis(mod, recorder)
    if (done === undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_PROFILER_INSTRUMENT',
        `${PKG}: instrument({ ${name} }) needs the ${pkg} module itself (e.g. ${name}: require('${pkg}')); what was passed is not one this version can instrument.`,
      )
    }
    undo.set(pkg, done)
  }

  function instrument(modules: Readonly<InstrumentModules> | 'auto'): string[] {
    const given = modules === 'auto' ? resolveInstalled(log) : modules
    if (given === null || typeof given !== 'object') {
      throw new HotpathError(
        'ERR_HOTPATH_PROFILER_INSTRUMENT',
        `${PKG}: instrument() takes { pg, mysql2, betterSqlite3, knex, ioredis } (the modules your app uses) or 'auto'.`,
      )
    }
    for (const key of Object.keys(given)) {
      if (!(NAMES as readonly string[]).includes(key)) {
        throw new HotpathError(
          'ERR_HOTPATH_PROFILER_INSTRUMENT',
          `${PKG}: instrument() does not know "${key}".${didYouMean(key, NAMES)} It takes ${NAMES.join(', ')}.`,
        )
      }
    }
    recorder.context ??= new AsyncLocalStorage<Store>()
    const context = recorder.context
    try {
      for (const name of NAMES) {
        const mod = (given as InstrumentModules)[name]
        if (mod !== undefined && mod !== null) one(name, mod, context)
      }
    } catch (err) {
      // Nothing instrumented: no AsyncLocalStorage for the middleware to enter.
      if (undo.size === 0) uninstrument()
      throw err
    }
    return names()
  }

  function uninstrument(): void {
    for (const done of undo.values()) done()
    undo.clear()
    recorder.context?.disable()
    recorder.context = undefined
  }

  const names = () => [...undo.keys()]
  return { instrument, uninstrument, names }
}

/** The drivers installed beside the app (resolved from the working directory), loaded if they load. */
function resolveInstalled(log: OnceLogger): InstrumentModules {
  const req = createRequire(path.join(process.cwd(), 'index.js'))
  const out: InstrumentModules = {}
  for (const name of NAMES) {
    const pkg = PACKAGES[name]
    try {
      req.resolve(pkg)
    } catch {
      continue
    }
    try {
      out[name] = req(pkg)
    } catch (err) {
      log.warnOnce(
        `ERR_HOTPATH_PROFILER_LOAD_${name.toUpperCase()}`,
        `${PKG}: ${pkg} is installed but failed to load (${(err as Error)?.message ?? err}); its queries are not instrumented.`,
      )
    }
  }
  return out
}
