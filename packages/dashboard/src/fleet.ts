import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  type CacheInvalidation,
  type FleetAction,
  type FleetSessions,
  type FleetSource,
  type HistoryQuery,
  type Insight,
  isHistoryMetric,
  type OnceLogger,
} from '@hotpath/core'
import express, { type Request, type RequestHandler, type Response, type Router } from 'express'
import type { Auth } from './auth'
import type { LocalHistory } from './history'
import type { Config } from './options'
import { guarded, SCHEMA } from './report'
import { isJson, isSameOrigin } from './security'
import type { Sessions } from './sessions'
import type { DashboardSources } from './types'

function refuse(res: Response, status: number, error: string, message: string): void {
  if (res.headersSent) return
  res.status(status).json({ schema: SCHEMA, error, message })
}

function single(req: Request, name: string): unknown {
  const query = req.query as Record<string, unknown>
  return Object.hasOwn(query, name) ? query[name] : undefined
}

/**
 * Sign-in sessions every instance can verify: the cookie is a random id, an expiry and an
 * HMAC-SHA256 of both under a key derived from the dashboard token, which every instance has.
 * Nothing is stored to verify one; a sign-out revokes the id through the fleet (Redis), so it is
 * refused everywhere until it would have expired anyway.
 */
export function createSignedSessions(
  token: string,
  ttlMs: number,
  now: () => number,
  revocations: FleetSessions,
): Sessions {
  const key = createHash('sha256').update(`hotpath-dashboard-session\0${token}`).digest()
  const mac = (body: Buffer) => createHmac('sha256', key).update(body).digest()
  const ID = 16
  const EXP = 6
  const LENGTH = ID + EXP + 32
  let created = 0

  const open = (cookie: string): { expires: number } | undefined => {
    const raw = Buffer.from(cookie, 'base64url')
    if (raw.length !== LENGTH) return undefined
    const body = raw.subarray(0, ID + EXP)
    if (!timingSafeEqual(mac(body), raw.subarray(ID + EXP))) return undefined
    return { expires: raw.readUIntBE(ID, EXP) }
  }

  return {
    create() {
      const body = Buffer.alloc(ID + EXP)
      randomBytes(ID).copy(body)
      body.writeUIntBE(now() + ttlMs, ID, EXP)
      created++
      return Buffer.concat([body, mac(body)]).toString('base64url')
    },
    has(cookie) {
      const s = open(cookie)
      return s !== undefined && s.expires > now() && !revocations.isRevoked(cookie)
    },
    delete(cookie) {
      const s = open(cookie)
      if (s !== undefined && s.expires > now()) revocations.revoke(cookie, s.expires)
    },
    get size() {
      return created
    },
  }
}

/**
 * The sources as the dashboard uses them under a fleet: a cache clear or a task cancel runs here,
 * then on every other instance (their memory stores included); `onAction` applies what others send.
 */
export function fleetSources(
  sources: DashboardSources,
  fleet: FleetSource,
  log: OnceLogger,
): DashboardSources {
  const { cache, dataCache, tasks } = sources
  const tell = (action: FleetAction) =>
    fleet.broadcast(action).catch((err) => {
      log.warnOnce(
        'ERR_HOTPATH_DASHBOARD_FLEET_BROADCAST',
        '@hotpath/dashboard: a fleet-wide action reached this instance only (Redis did not answer).',
        err,
      )
    })
  fleet.onAction(async (action) => {
    if (action.kind === 'cache-clear') {
      const body = action.body
      if (body.all === true) {
        await cache?.clear()
        await dataCache?.clear?.()
        return
      }
      const target = body as CacheInvalidation
      await cache?.invalidate(target)
      if ('tag' in target && typeof target.tag === 'string') await dataCache?.deleteByTag?.(target.tag)
    } else if (action.kind === 'task-cancel' && tasks) {
      await tasks.cancel(action.id).catch(() => false)
    }
  })
  const out: Record<string, unknown> = { ...sources }
  const { profiler } = sources
  if (profiler) {
    // The dashboard's insight list starts with the profiler's; under a fleet, firing alerts and
    // regressions join it there, so every alert is also an insight on the page.
    out.profiler = decorate(profiler, {
      insights: () => [...profiler.insights(), ...fleetInsights(fleet)],
    })
  }
  if (cache) {
    out.cache = decorate(cache, {
      invalidate: async (target: CacheInvalidation) => {
        const n = await cache.invalidate(target)
        await tell({ kind: 'cache-clear', body: { ...target } })
        return n
      },
      clear: async () => {
        await cache.clear()
        await tell({ kind: 'cache-clear', body: { all: true } })
      },
    })
  }
  if (tasks) {
    out.tasks = decorate(tasks, {
      cancel: async (id: string) => {
        await tell({ kind: 'task-cancel', id })
        return tasks.cancel(id)
      },
    })
  }
  return out as DashboardSources
}

/** The source with some members replaced; every other member (and `this`) is the source's own. */
function decorate<T extends object>(source: T, replaced: Record<string, unknown>): T {
  return new Proxy(source, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(replaced, property)) return replaced[property]
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function fleetInsights(fleet: FleetSource): Insight[] {
  const out: Insight[] = []
  for (const a of fleet.alerts()) {
    if (a.state !== 'firing') continue
    out.push({
      id: 'alert',
      severity: 'critical',
      source: 'fleet',
      title: `Alert firing: ${a.rule}`,
      ...(a.route ? { route: a.route } : {}),
      evidence: { value: a.value ?? 'n/a', since: a.since ? new Date(a.since).toISOString() : 'n/a' },
      action: 'Look at the route on every instance (the fleet table) and at the last deploy marker.',
    })
  }
  for (const r of fleet.regressions()) {
    out.push({
      id: 'regression',
      severity: 'warning',
      source: 'fleet',
      title: `${r.metric} of ${r.route} regressed against its baseline${r.deploy ? ` after ${r.deploy}` : ''}`,
      route: r.route,
      evidence: { current: r.current, baseline: r.baseline, z: r.z, since: new Date(r.since).toISOString() },
      action: r.deploy
        ? `Compare with the build before ${r.deploy}, or roll it back.`
        : 'Find what changed when it began.',
    })
  }
  return out
}

/** `GET /fleet`, `GET /history`, `GET /alerts` and `POST /mark`. */
export function fleetRoutes(
  fleet: FleetSource | undefined,
  local: LocalHistory,
  auth: Auth,
  config: Config,
  now: () => number,
  log: OnceLogger,
): Router {
  const router = express.Router()
  const noFleet = 'No fleet: pass fleet: fleet({ redis, app, sources }) from @hotpath/fleet.'

  router.get(
    '/fleet',
    guarded(async (_req, res) => {
      if (!fleet) return refuse(res, 404, 'not_found', noFleet)
      res.json({ schema: SCHEMA, ...(await fleet.view()) })
    }),
  )

  router.get(
    '/history',
    guarded(async (req, res) => {
      const metric = single(req, 'metric') ?? 'rps'
      const route = single(req, 'route')
      const window = single(req, 'window') ?? '1h'
      if (!isHistoryMetric(metric))
        return refuse(
          res,
          400,
          'bad_request',
          'metric must be one of rps, p50, p95, p99, errorRate, s2xx, s3xx, s4xx, s5xx, cacheHitRatio, eventLoopP99, cpu, heapUsed, rss.',
        )
      if (window !== '1h' && window !== '1d')
        return refuse(res, 400, 'bad_request', "window must be '1h' or '1d'.")
      if (route !== undefined && (typeof route !== 'string' || route.length > 300)) {
        return refuse(res, 400, 'bad_request', 'route must be one route label such as "GET /api/products".')
      }
      const query: HistoryQuery = { metric, window, ...(route ? { route } : {}) }
      const series = fleet ? await fleet.history(query) : local.history(query)
      res.json({ schema: SCHEMA, fleet: fleet !== undefined, ...series })
    }),
  )

  router.get('/alerts', (_req, res) => {
    res.json({
      schema: SCHEMA,
      alerts: fleet ? fleet.alerts() : [],
      regressions: fleet ? fleet.regressions() : [],
    })
  })

  const gate: RequestHandler = (req, res, next) => {
    if (!isSameOrigin(req, config.allowedOrigins))
      return refuse(res, 403, 'cross_site', 'Cross-site requests cannot add markers.')
    auth.may(req, 'write').then((allowed) => {
      if (!allowed)
        return refuse(res, 403, 'forbidden', 'This credential may read the dashboard but not add markers.')
      if (!isJson(req))
        return refuse(res, 415, 'unsupported_media_type', 'Send the body as Content-Type: application/json.')
      next()
    }, next)
  }
  router.post(
    '/mark',
    gate,
    express.json({ limit: '1kb' }),
    guarded(async (req, res) => {
      const label = (req.body as { label?: unknown } | undefined)?.label
      if (typeof label !== 'string' || label.length === 0 || label.length > 200) {
        return refuse(res, 400, 'bad_request', 'Send { "label": "deploy v1.2.3" } (1 to 200 characters).')
      }
      await markWith(fleet, local, now, log)(label)
      res.status(201).json({ schema: SCHEMA, marked: label })
    }),
  )
  return router
}

/** `dashboard.mark(label)`: a marker on this instance's charts, and every instance's under a fleet. */
export function markWith(
  fleet: FleetSource | undefined,
  local: LocalHistory,
  now: () => number,
  log: OnceLogger,
): (label: string) => Promise<void> {
  return async (label) => {
    local.mark(label, now())
    if (!fleet) return
    try {
      await fleet.mark(label)
    } catch (err) {
      log.warnOnce(
        'ERR_HOTPATH_DASHBOARD_MARK',
        '@hotpath/dashboard: the marker was recorded on this instance only.',
        err,
      )
    }
  }
}
