import {
  HotpathError,
  headersSent,
  isPromiseLike,
  type OnceLogger,
  resolveDynamic,
  routeOf,
} from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { createClientKey, type ProxyWarnings, storedKey } from './client-key'
import { createHeaderWriter, policyItem, seconds } from './headers'
import type { MemoryStore } from './memory-store'
import { checkCount, type LayerConfig, makePolicy, PKG } from './options'
import { type Counted, createOutcomeWatcher } from './outcome'
import { LayerCounters, type LayerMetrics, type Recorder } from './stats'
import type { Decision, Policy, Store, StoreErrorPolicy } from './types'

/** What every layer of one limiter shares: the store, its health and the numbers. */
export interface Shared extends ProxyWarnings {
  readonly store: Store
  readonly fallback: MemoryStore | undefined
  readonly failure: StoreErrorPolicy
  readonly recorder: Recorder
  readonly log: OnceLogger
  readonly now: () => number
  /** Seconds a client is told to wait while the store is down and the policy is `closed`. */
  readonly closedRetryAfter: number
}

export interface Layer {
  readonly config: LayerConfig
  readonly counters: LayerCounters
  readonly middleware: (req: Request, res: Response, next: NextFunction) => void
  /** The store key of a client key in this layer's namespace. */
  storeKey(key: string): string
}

export const STORE_DOWN = 'ERR_HOTPATH_RATE_LIMIT_STORE'

function requestError(_pkg: string, message: string): never {
  throw new HotpathError('ERR_HOTPATH_RATE_LIMIT_VALUE', `${PKG}: ${message}`)
}

export function createLayer(config: LayerConfig, shared: Shared, metrics: LayerMetrics | undefined): Layer {
  const counters = new LayerCounters()
  const { store, recorder, log } = shared
  const namespace = `${config.name}:`
  const writeHeaders = createHeaderWriter(config.headers, config.name, shared.now)
  const staticPolicyField = config.policy && writeHeaders ? policyItem(config.name, config.policy) : undefined
  const staticPolicy = config.policy
  const staticCost = config.staticCost
  const keyOption = config.key
  const skip = config.skip

  const clientKey = createClientKey(config.ipv6Subnet, shared, log)
  const keyOf = (req: Request, res: Response): string | Promise<string> =>
    keyOption === undefined ? clientKey(req) : resolveDynamic(keyOption, req, res)

  // `req.route` is an own property once a route matched (Express 4 and 5 set it in
  // Route#dispatch); asking the object itself spares a miss through the long prototype chain of
  // an Express request on every request of a limiter mounted with `use`.
  const label = (req: Request): string | undefined =>
    Object.hasOwn(req, 'route') && req.route ? routeOf(req) : undefined

  const finish = (
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    policy: Policy,
    decision: Decision,
    /** Where the units were counted, when they may be given back (skipFailed/SuccessfulRequests). */
    counted: Counted | undefined,
  ) => {
    const counter = counters.counter(label(req))
    // A layer before this one may have started the response already; its headers are gone.
    if (writeHeaders !== undefined && !headersSent(res)) {
      writeHeaders(res, policy, decision, policy === staticPolicy ? staticPolicyField : undefined)
    }
    if (decision.allowed) {
      recorder.allowed++
      counter.allowed++
      metrics?.allowed.inc()
      if (counted !== undefined && counted.cost > 0) watchOutcome(req, res, policy, counted)
      next()
      return
    }
    recorder.limited++
    counter.limited++
    recorder.limitedKey(key)
    metrics?.limited.inc()
    limited(req, res, next, key, policy, decision)
  }

  const limited = (
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    policy: Policy,
    decision: Decision,
  ) => {
    // Retry-After as delay-seconds (RFC 9110 §10.2.3); no-store (RFC 9111 §5.2.2.5) so that no
    // cache, shared, private or @hotpath/response-cache, ever keeps or replays a 429.
    res.setHeader('Retry-After', String(Math.max(1, seconds(decision.retryAfterMs))))
    res.setHeader('Cache-Control', 'no-store')
    if (config.handler !== undefined) {
      const result = config.handler(req, res, next, { key, policy, decision, name: config.name })
      if (isPromiseLike(result)) Promise.resolve(result).catch(next)
      return
    }
    const body = typeof config.message === 'function' ? config.message(req, res) : config.message
    // An async message: its value is sent once it resolves, a rejection goes to next(err).
    if (isPromiseLike(body)) Promise.resolve(body).then((value) => guard(next, () => send(res, value)), next)
    else send(res, body)
  }

  const send = (res: Response, body: unknown) => {
    res.status(config.statusCode)
    if (typeof body === 'string') {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.send(body)
    } else res.json(body)
  }

  const refunds = config.skipFailedRequests || config.skipSuccessfulRequests
  const watchOutcome = createOutcomeWatcher(config, log)

  const storeFailed = (
    error: unknown,
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    storeKey: string,
    policy: Policy,
    cost: number,
  ) => {
    recorder.storeErrors++
    metrics?.storeErrors.inc()
    if (recorder.mode === 'store') {
      recorder.mode = shared.failure
      log.errorOnce(
        STORE_DOWN,
        `${PKG}: the ${store.kind} store failed (${(error as Error)?.message ?? String(error)}); onStoreError '${shared.failure}' applies until it answers again.`,
      )
    }
    if (shared.failure === 'open') {
      recorder.failOpen++
      recorder.allowed++
      counters.counter(label(req)).allowed++
      next()
    } else if (shared.failure === 'closed') {
      res.setHeader('Retry-After', String(shared.closedRetryAfter))
      res.setHeader('Cache-Control', 'no-store')
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.status(503).send('Service unavailable: the rate limit store is not answering.')
    } else {
      const fallback = shared.fallback as MemoryStore
      const counted = refunds ? { store: fallback, storeKey, cost } : undefined
      finish(req, res, next, key, policy, fallback.consume(storeKey, policy, cost), counted)
    }
  }

  const storeAnswered = () => {
    if (recorder.mode === 'store') return
    recorder.mode = 'store'
    log.rearm(STORE_DOWN)
    log.warn(`${PKG}: the ${store.kind} store answers again; counting there resumed.`)
  }

  let lastKey = ''
  let lastStoreKey = namespace
  const run = (
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    cost: number,
    policy: Policy,
  ) => {
    // The last client's store key is kept: a keep-alive client sends many requests in a row,
    // and a key the store has hashed before is found faster than a freshly built one.
    if (key !== lastKey) {
      lastKey = key
      lastStoreKey = namespace + storedKey(key)
    }
    const storeKey = lastStoreKey
    let answer: Decision | Promise<Decision>
    try {
      answer = store.consume(storeKey, policy, cost)
    } catch (error) {
      storeFailed(error, req, res, next, key, storeKey, policy, cost)
      return
    }
    const counted: Counted | undefined = refunds ? { store, storeKey, cost } : undefined
    if (!isPromiseLike(answer)) {
      finish(req, res, next, key, policy, answer, counted)
      return
    }
    const started = performance.now()
    answer.then(
      (decision) => {
        recorder.storeLatency(performance.now() - started)
        storeAnswered()
        guard(next, () => finish(req, res, next, key, policy, decision, counted))
      },
      (error: unknown) => guard(next, () => storeFailed(error, req, res, next, key, storeKey, policy, cost)),
    )
  }

  /** The path for anything that depends on the request asynchronously. */
  const slow = async (
    req: Request,
    res: Response,
    next: NextFunction,
    pendingKey: string | Promise<string>,
  ) => {
    const key = await pendingKey
    if (typeof key !== 'string' || key === '')
      requestError(PKG, `key must resolve to a non-empty string, got ${JSON.stringify(key)}.`)
    const cost = staticCost ?? (await resolveDynamic(config.cost, req, res))
    if (staticCost === undefined) {
      try {
        checkCount(cost, 'cost', 0)
      } catch (error) {
        requestError(PKG, (error as Error).message)
      }
    }
    const policy =
      staticPolicy ??
      makePolicy(
        config.algorithm,
        await resolveDynamic(config.limit, req, res),
        await resolveDynamic(config.window, req, res),
        config.burst,
        requestError,
      )
    run(req, res, next, key, cost, policy)
  }

  const limit = (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req, res)
    if (typeof key === 'string' && staticPolicy !== undefined && staticCost !== undefined && key !== '') {
      run(req, res, next, key, staticCost, staticPolicy)
      return
    }
    slow(req, res, next, key).catch(next)
  }

  const middleware = function rateLimit(req: Request, res: Response, next: NextFunction): void {
    try {
      if (skip === undefined) {
        limit(req, res, next)
        return
      }
      const skipped = skip(req, res)
      if (!isPromiseLike(skipped)) {
        if (skipped) next()
        else limit(req, res, next)
        return
      }
      Promise.resolve(skipped).then((yes) => guard(next, () => (yes ? next() : limit(req, res, next))), next)
    } catch (error) {
      next(error)
    }
  }

  return { config, counters, middleware, storeKey: (key: string) => namespace + storedKey(key) }
}

/** Runs `work` from a promise callback so a throw becomes `next(err)`, never a rejection. */
function guard(next: NextFunction, work: () => void): void {
  try {
    work()
  } catch (error) {
    next(error)
  }
}
