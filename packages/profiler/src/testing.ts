/**
 * `@hotpath/profiler/testing`: fail a test when a request runs more queries than it should, or
 * an N+1 / duplicate query appears (Rails' Bullet in raise mode, for Express). The request runs
 * through supertest; the profiler mounted in the app records it, and the failure names the
 * offending shape, its count, its call site and the fix.
 */
import { HotpathError } from '@hotpath/core'
import { OBSERVE, type ObservedRequest, type Observer } from './observe'
import type { Driver } from './usage'
import { nPlusOneHint } from './usage'

export type { ObservedRequest, ObservedShape } from './observe'

export interface QueryRequest {
  /** Default `'GET'`. */
  method?: string
  /** Path and query string, e.g. `/api/orders?page=2`. */
  path: string
  headers?: Readonly<Record<string, string>>
  /** Sent as JSON for methods with a body. */
  body?: unknown
}

export interface QueryLimits {
  /** Most queries the request may run. Default: no limit. */
  max?: number
  /** Most N+1 shapes (a shape run `nPlusOneThreshold` times or more). Default 0. */
  nPlusOne?: number
  /** Most shapes repeated with the same parameters. Default 0. */
  duplicates?: number
  /** The profiler to read; default: the one found mounted in `app`. */
  profiler?: unknown
  /** How long to wait for the request to be recorded after its response. Default 2000 ms. */
  timeoutMs?: number
}

type Subscribe = (observer: Observer) => () => void
type Layer = { handle?: unknown; stack?: Layer[] }

/** Runs `request` against `app` and throws (ERR_HOTPATH_QUERIES) when it breaks `limits`. */
export async function expectQueries(
  app: unknown,
  request: Readonly<QueryRequest>,
  limits: Readonly<QueryLimits> = {},
): Promise<ObservedRequest> {
  const subscribe = subscribeOf(limits.profiler ?? findProfiler(app))
  const method = (request.method ?? 'GET').toUpperCase()
  const path = request.path.split('?')[0] as string
  let stop = () => {}
  const seen = new Promise<ObservedRequest>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`expectQueries: ${method} ${request.path} was not recorded by the profiler in time.`),
        ),
      limits.timeoutMs ?? 2000,
    )
    stop = subscribe((observed) => {
      if (observed.method !== method || observed.url !== path) return
      clearTimeout(timer)
      resolve(observed)
    })
  })
  try {
    await send(app, method, request)
    const observed = await seen
    const problems = check(observed, limits)
    if (problems.length > 0) {
      throw new HotpathError(
        'ERR_HOTPATH_QUERIES',
        `expectQueries ${method} ${request.path} (${observed.queries} queries):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      )
    }
    return observed
  } finally {
    stop()
  }
}

function check(observed: ObservedRequest, limits: Readonly<QueryLimits>): string[] {
  const problems: string[] = []
  if (limits.max !== undefined && observed.queries > limits.max) {
    problems.push(`${observed.queries} queries, over the limit of ${limits.max}`)
  }
  const loops = observed.shapes.filter((s) => s.count >= observed.nPlusOneThreshold)
  if (loops.length > (limits.nPlusOne ?? 0)) {
    for (const s of loops) {
      problems.push(
        `N+1: "${s.shape}" ran ${s.count} times (${s.driver})${where(s.callSites)}\n    fix: ${nPlusOneHint(s.driver as Driver)}`,
      )
    }
  }
  const dupes = observed.shapes.filter((s) => s.duplicates > 0)
  if (dupes.length > (limits.duplicates ?? 0)) {
    for (const s of dupes) {
      problems.push(
        `duplicate: "${s.shape}" ran ${s.duplicates + 1} times with the same parameters${where(s.callSites)}`,
      )
    }
  }
  return problems
}

function where(sites: readonly string[]): string {
  return sites.length === 0 ? '' : ` at ${sites.join(', ')}`
}

async function send(app: unknown, method: string, request: Readonly<QueryRequest>): Promise<void> {
  let supertest: (app: unknown) => Record<string, (path: string) => SuperRequest>
  try {
    supertest = require('supertest')
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_QUERIES_SUPERTEST',
      '@hotpath/profiler/testing: expectQueries drives the request with supertest; install it (npm i -D supertest).',
    )
  }
  const verb = method.toLowerCase()
  const agent = supertest(app)
  const make = agent[verb]
  if (typeof make !== 'function')
    throw new HotpathError('ERR_HOTPATH_QUERIES', `expectQueries: unknown method ${method}.`)
  let req = make.call(agent, request.path)
  for (const [name, value] of Object.entries(request.headers ?? {})) req = req.set(name, value)
  if (request.body !== undefined) req = req.send(request.body)
  await req
}

interface SuperRequest extends PromiseLike<unknown> {
  set(name: string, value: string): SuperRequest
  send(body: unknown): SuperRequest
}

function subscribeOf(prof: unknown): Subscribe {
  const subscribe = (prof as Record<symbol, unknown> | undefined)?.[OBSERVE]
  if (typeof subscribe !== 'function') {
    throw new HotpathError(
      'ERR_HOTPATH_QUERIES_NO_PROFILER',
      '@hotpath/profiler/testing: no profiler found in the app; mount one (app.use(profiler())) or pass { profiler } in the limits.',
    )
  }
  return subscribe as Subscribe
}

/** The first profiler in the app's middleware stack (Express 4 `_router`, Express 5 `router`), nested routers included. */
function findProfiler(app: unknown): unknown {
  const a = app as { _router?: Layer; router?: Layer }
  let root: Layer | undefined
  try {
    root = a._router ?? a.router
  } catch {
    root = undefined
  }
  const visit = (stack: Layer[] | undefined, depth: number): unknown => {
    if (stack === undefined || depth > 8) return undefined
    for (const layer of stack) {
      const handle = layer.handle as (Record<symbol, unknown> & Layer) | undefined
      if (handle !== undefined && typeof handle[OBSERVE] === 'function') return handle
      const found = visit(handle?.stack, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  return visit(root?.stack, 0)
}
