import { createLogger, parseDuration } from '@hotpath/core'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { createAuth } from './auth'
import { dataCacheRoutes } from './data-cache'
import { createSignedSessions, fleetRoutes, fleetSources, markWith } from './fleet'
import { createLocalHistory } from './history'
import { jsonRoutes } from './json'
import { createLimiter } from './limiter'
import { resolveOptions } from './options'
import { loadAssets, needsSlash, sendAsset } from './page'
import {
  dashboardHandler,
  insightsHandler,
  metricsHandler,
  overviewHandler,
  queriesHandler,
  SCHEMA,
  slowestHandler,
  statsHandler,
} from './report'
import { securityHeaders } from './security'
import { createSessions } from './sessions'
import { tasksRoutes } from './tasks'
import type { DashboardOptions, DashboardRouter } from './types'
import { cacheClearHandlers, signInHandlers, signOutHandler } from './write'

const READ_METHODS = 'GET, HEAD'

function methodNotAllowed(allow: string): RequestHandler {
  // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
  return (_req, res) => {
    res.setHeader('Allow', allow)
    res.status(405).json({ schema: SCHEMA, error: 'method_not_allowed', message: `Use ${allow}.` })
  }
}

function notFound(message: string): RequestHandler {
  return (_req, res) => {
    res.status(404).json({ schema: SCHEMA, error: 'not_found', message })
  }
}

/**
 * One router for every hotpath number: JSON endpoints, `/metrics` and the live page, behind
 * the auth the caller chose. Mount it anywhere: `app.use('/performance', dashboard({ ... }))`.
 */
export function dashboard(options: DashboardOptions): DashboardRouter {
  const config = resolveOptions(options)
  const log = createLogger(options.logger)
  const now = options.now ?? Date.now
  const assets = loadAssets()
  const { fleet } = options
  const sessions =
    fleet && config.auth.kind === 'token'
      ? createSignedSessions(config.auth.token, config.session.ttlMs, now, fleet.sessions)
      : createSessions(config.session.ttlMs, config.session.max, now)
  const auth = createAuth(config, sessions, log)
  const sources = fleet ? fleetSources(config.sources, fleet, log) : config.sources
  const historyMs =
    options.history === false ? 0 : parseDuration(options.history?.interval ?? '10s', 'history.interval')
  const history = createLocalHistory(sources, now, historyMs)
  if (config.auth.kind === 'none') {
    log.warnOnce(
      'ERR_HOTPATH_DASHBOARD_OPEN',
      "@hotpath/dashboard: auth is 'none'; anyone who can reach the mount path sees the numbers and can clear the cache.",
    )
  }

  const router = express.Router()
  // Order matters: headers first (they must be on every answer, 401 and 429 included), then the
  // limiter (so token guessing is limited too), then auth for every path before any route.
  router.use(securityHeaders)
  if (config.limits) {
    const read = createLimiter('read', config.limits.read, now, options.logger)
    const write = createLimiter('write', config.limits.write, now, options.logger)
    router.use(function dashboardRateLimit(req: Request, res: Response, next: NextFunction) {
      return req.method === 'GET' || req.method === 'HEAD' ? read(req, res, next) : write(req, res, next)
    })
  }
  router.use(auth.authenticate)

  const read = (path: string, handler: RequestHandler | undefined, missing: string) => {
    router
      .route(path)
      .get(handler ?? notFound(missing))
      .all(handler ? methodNotAllowed(READ_METHODS) : notFound(missing))
  }

  router
    .route('/')
    .get((req, res) => {
      const slash = needsSlash(req)
      if (slash !== undefined) return res.redirect(308, slash)
      if (config.auth.kind === 'token' && !auth.isAuthenticated(req)) return sendAsset(res, assets.signIn)
      sendAsset(res, assets.dashboard)
    })
    .all(methodNotAllowed(READ_METHODS))
  router.get('/assets/app.js', (_req, res) => sendAsset(res, assets.script))
  router.get('/assets/history.js', (_req, res) => sendAsset(res, assets.historyScript))
  router.get('/assets/app.css', (_req, res) => sendAsset(res, assets.style))

  const tokenOnly = 'Sign-in is only offered with auth: { token }.'
  router
    .route('/login')
    .post(...(config.auth.kind === 'token' ? signInHandlers(auth, config, assets) : [notFound(tokenOnly)]))
    .all(methodNotAllowed('POST'))
  router
    .route('/logout')
    .post(config.auth.kind === 'token' ? signOutHandler(auth, config) : notFound(tokenOnly))
    .all(methodNotAllowed('POST'))

  const noCache = 'No cache source: pass sources.cache (a @hotpath/response-cache instance).'
  const noProfiler = 'No profiler source: pass sources.profiler (a @hotpath/profiler instance).'
  read('/cache/stats', sources.cache && statsHandler('cache', sources), noCache)
  if (sources.cache || sources.dataCache) {
    router
      .route('/cache/clear')
      .post(...cacheClearHandlers(sources.cache, auth, config, sources.dataCache))
      .all(methodNotAllowed('POST'))
  } else router.all('/cache/clear', notFound(noCache))
  read('/query/optimization', sources.profiler && queriesHandler(sources), noProfiler)
  read('/profile/overview', sources.profiler && overviewHandler(sources), noProfiler)
  read('/profile/slowest', sources.profiler && slowestHandler(sources, config), noProfiler)
  read('/profile/insights', insightsHandler(sources, config, log), '')
  read(
    '/compression/stats',
    sources.compression && statsHandler('compression', sources),
    'No compression source: pass sources.compression (a @hotpath/compression instance).',
  )
  read(
    '/ratelimit/stats',
    sources.rateLimit && statsHandler('rateLimit', sources),
    'No rate-limit source: pass sources.rateLimit (a @hotpath/rate-limit instance).',
  )
  router.use('/tasks', tasksRoutes(sources.tasks, auth, config, log))
  router.use('/cache/data', dataCacheRoutes(sources.dataCache))
  router.use('/json', jsonRoutes(sources.json, sources.compression))
  router.use(fleetRoutes(fleet, history, auth, config, now, log))
  read('/dashboard', dashboardHandler(sources, config, log), '')
  read('/metrics', metricsHandler(config), '')
  // Everything under the mount path belongs to the dashboard: an unknown path is answered here.
  router.use(notFound('No such dashboard endpoint.'))
  // `dashboard.mark('deploy v1.2.3')`: a marker on the charts (every instance's under a fleet).
  return Object.assign(router, { mark: markWith(fleet, history, now, log) })
}
