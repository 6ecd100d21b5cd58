import { performance } from 'node:perf_hooks'
import { type BreakerStats, type OverloadStats, onResponse, pathOf } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { breaker as createBreaker } from './breaker'
import type { Breaker, BreakerOptions } from './breaker-types'
import { Counts } from './counts'
import { EventLoopGuard } from './event-loop'
import { GradientLimit } from './limit'
import { registerMetrics } from './metrics'
import { type Config, resolveOptions } from './options'
import { type Waiter, WaitQueue } from './queue'
import { Ring, round3 } from './ring'
import type { OverloadGuard, OverloadOptions, Priority, RefusalReason } from './types'

const now = () => performance.now()

/**
 * `overload(options)`: one middleware, cheapest check first — priority (critical passes), the
 * event-loop guard (a random draw against a probability computed on a timer), then the adaptive
 * concurrency limit, whose overflow waits in a CoDel-managed queue. Everything that costs more
 * than a comparison (percentiles, the gradient, loop utilisation) runs on one unref'd timer.
 */
export function overload(options: Readonly<OverloadOptions> = {}): OverloadGuard {
  const config = resolveOptions(options)
  const { log } = config
  const counts = new Counts()
  const limiter = config.limit && new GradientLimit(config.limit)
  const loop = config.eventLoop && new EventLoopGuard(config.eventLoop, config.sampleIntervalMs)
  const normal = new WaitQueue()
  const sheddable = new WaitQueue()
  const queueDelay = new Ring(2048)
  const breakers: Array<{ stats(): BreakerStats; shutdown(): void }> = []
  let inFlight = 0
  // CoDel state (RFC 8289 §5.3): `congested` once every request for `interval` waited ≥ target.
  let congested = false
  let firstAboveAt = 0
  let lastAboveAt = 0
  let sweeper: NodeJS.Timeout | undefined
  const refusalHeaders = {
    'Content-Type': config.contentType,
    'Content-Length': String(config.body.length),
    'Retry-After': String(config.retryAfter),
    'Cache-Control': 'no-store',
  }

  const ticker = setInterval(() => {
    try {
      const t = now()
      loop?.tick()
      limiter?.tick(t, loop ? loop.delayMs : 0)
      if (congested) sojourn(0, t)
      drain(t)
    } catch (err) {
      log.errorOnce('ERR_HOTPATH_OVERLOAD_TICK', `${'@hotpath/overload'}: the sampling timer failed.`, err)
    }
  }, config.sampleIntervalMs)
  ticker.unref()

  const queued = () => normal.length + sheddable.length

  /**
   * CoDel's standing-queue test (RFC 8289 §3.2, §5.3): the queue turns bad once the sojourn
   * time of its oldest request has stayed at or above `target` for a whole `interval`; a queue
   * that empties for a moment between bursts is not good by that alone. It turns good again only
   * after a whole `interval` in which no request waited `target` — the hysteresis that keeps
   * LIFO service (whose newest requests wait less than `target` by construction) from flapping
   * back to FIFO with its `interval`-long waits while the overload lasts.
   */
  function sojourn(waitedMs: number, t: number): void {
    if (waitedMs >= config.targetMs) {
      lastAboveAt = t
      if (congested) return
      if (firstAboveAt === 0) firstAboveAt = t + config.intervalMs
      else if (t >= firstAboveAt) congested = true
    } else if (!congested) {
      firstAboveAt = 0
    } else if (t - lastAboveAt > config.intervalMs) {
      congested = false
      firstAboveAt = 0
    }
  }

  function classify(req: Request): Priority {
    const rules = config.rules
    if (rules.length === 0) return config.defaultPriority
    const path = pathOf(req)
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as Config['rules'][number]
      try {
        if (rule.test(req, path)) return rule.priority
      } catch (err) {
        log.warnOnce(
          'ERR_HOTPATH_OVERLOAD_MATCH',
          `@hotpath/overload: priorities[${i}].match threw; the rule is skipped for that request.`,
          err,
        )
      }
    }
    return config.defaultPriority
  }

  function refuse(
    req: Request,
    res: Response,
    next: NextFunction,
    reason: RefusalReason,
    priority: Priority,
  ): void {
    counts.refuse(reason, priority)
    if (config.handler) {
      try {
        const result = config.handler(req, res, next, { reason, priority, retryAfter: config.retryAfter })
        if (result instanceof Promise) result.catch((err) => fallback(res, err))
        return
      } catch (err) {
        fallback(res, err)
        return
      }
    }
    send(res)
  }

  function fallback(res: Response, err: unknown): void {
    log.errorOnce(
      'ERR_HOTPATH_OVERLOAD_HANDLER',
      '@hotpath/overload: the refusal handler failed; the default 503 was sent.',
      err,
    )
    send(res)
  }

  function send(res: Response): void {
    if (res.headersSent || res.writableEnded) return
    res.writeHead(config.statusCode, refusalHeaders)
    res.end(config.body)
  }

  /**
   * Takes a slot for the request, given back and timed at the response's close. The listener
   * goes first: if it cannot be attached, no slot was taken (the caller still runs the request).
   */
  function begin(res: Response, waitedMs: number, priority: Priority): void {
    const startedAt = now()
    const epoch = limiter ? limiter.epoch : 0
    onResponse(res, 'close', () => {
      inFlight--
      const t = now()
      limiter?.record(t - startedAt, epoch, t)
      drain(t)
    })
    inFlight++
    counts.admit(priority)
    queueDelay.push(waitedMs)
    limiter?.inFlight(inFlight)
  }

  function enqueue(req: Request, res: Response, next: NextFunction, priority: Priority): void {
    const t = now()
    const queue = priority === 'sheddable' ? sheddable : normal
    // Sheddable requests are not queued at all while the queue is congested.
    if (priority === 'sheddable' && congested) {
      refuse(req, res, next, 'queue-timeout', priority)
      return
    }
    if (queued() >= config.maxQueue) {
      // While congested (LIFO), the oldest entry is the one whose client has waited longest.
      const victim = congested ? (sheddable.shift() ?? normal.shift()) : undefined
      if (victim === undefined) {
        refuse(req, res, next, 'queue-full', priority)
        return
      }
      victim.refuse('queue-full')
    }
    // 0 waiting, 1 admitted (its own close listener gives the slot back), 2 refused.
    let state = 0
    const waiter: Waiter = {
      enqueuedAt: t,
      gone: false,
      admit: (waitedMs) => {
        state = 1
        try {
          begin(res, waitedMs, priority)
        } catch (err) {
          log.errorOnce(
            'ERR_HOTPATH_OVERLOAD_INTERNAL',
            '@hotpath/overload: internal error; the request was let through.',
            err,
          )
        }
        next()
      },
      refuse: (reason) => {
        state = 2
        refuse(req, res, next, reason, priority)
      },
    }
    onResponse(res, 'close', () => {
      if (state !== 0) return
      queue.remove(waiter)
      counts.abandoned++
    })
    queue.push(waiter)
    armSweeper()
    if (inFlight < (limiter ? limiter.limit : Number.POSITIVE_INFINITY)) drain(t)
  }

  function armSweeper(): void {
    if (sweeper !== undefined) return
    sweeper = setInterval(
      () => {
        try {
          drain(now())
        } catch (err) {
          log.errorOnce('ERR_HOTPATH_OVERLOAD_TICK', '@hotpath/overload: the queue sweep failed.', err)
        }
      },
      Math.max(1, Math.floor(config.targetMs)),
    )
    sweeper.unref()
  }

  /** Refuses what waited too long, then fills free slots: FIFO normally, LIFO while congested. */
  function drain(t: number): void {
    expire(normal, t, congested ? config.targetMs : config.intervalMs)
    expire(sheddable, t, congested ? 0 : config.targetMs)
    // While no slot frees, the queue still stands: the oldest waiter's age is its sojourn so far.
    const standing = normal.peekOldest() ?? sheddable.peekOldest()
    if (standing !== undefined) sojourn(t - standing.enqueuedAt, t)
    const limit = limiter ? limiter.limit : Number.POSITIVE_INFINITY
    while (inFlight < limit) {
      const waiter = congested ? (normal.pop() ?? sheddable.pop()) : (normal.shift() ?? sheddable.shift())
      if (waiter === undefined) break
      // The standing queue is what the oldest request still waiting has waited (in LIFO order
      // the one served has often just arrived).
      const oldest = normal.peekOldest() ?? sheddable.peekOldest() ?? waiter
      sojourn(t - oldest.enqueuedAt, t)
      try {
        waiter.admit(t - waiter.enqueuedAt)
      } catch (err) {
        log.errorOnce(
          'ERR_HOTPATH_OVERLOAD_NEXT',
          '@hotpath/overload: a queued request failed to start.',
          err,
        )
      }
    }
    if (queued() === 0) {
      if (sweeper !== undefined) {
        clearInterval(sweeper)
        sweeper = undefined
      }
    }
  }

  function expire(queue: WaitQueue, t: number, timeoutMs: number): void {
    for (;;) {
      const oldest = queue.peekOldest()
      if (oldest === undefined || t - oldest.enqueuedAt <= timeoutMs) return
      queue.shift()
      sojourn(t - oldest.enqueuedAt, t)
      oldest.refuse('queue-timeout')
    }
  }

  /** Decides one request; true when the caller is to run it (`next()`), false when it was answered or queued. */
  function decide(req: Request, res: Response, next: NextFunction): boolean {
    const priority = classify(req)
    if (priority === 'critical') {
      counts.admit(priority)
      return true
    }
    if (loop !== undefined && loop.probability > 0) {
      const p = priority === 'sheddable' ? loop.sheddableProbability : loop.probability
      if (Math.random() < p) {
        refuse(req, res, next, 'event-loop', priority)
        return false
      }
    }
    const limit = limiter ? limiter.limit : Number.POSITIVE_INFINITY
    if (inFlight < limit && queued() === 0) {
      if (congested || firstAboveAt !== 0) sojourn(0, now())
      begin(res, 0, priority)
      return true
    }
    enqueue(req, res, next, priority)
    return false
  }

  const guard = function overload(req: Request, res: Response, next: NextFunction): void {
    let run: boolean
    try {
      run = decide(req, res, next)
    } catch (err) {
      // Overload protection must never be the outage: on an internal fault the request runs.
      log.errorOnce(
        'ERR_HOTPATH_OVERLOAD_INTERNAL',
        '@hotpath/overload: internal error; the request was let through.',
        err,
      )
      run = true
    }
    // Outside the try: an error of the app's own downstream is not this guard's to swallow.
    if (run) next()
  } as OverloadGuard

  const stats = (): OverloadStats => ({
    admitted: counts.admitted,
    refused: { ...counts.refused },
    priorities: counts.byPriority(),
    limit: limiter ? limiter.limit : null,
    inFlight,
    queued: queued(),
    abandoned: counts.abandoned,
    congested,
    queueDelayMs: { p50: round3(queueDelay.quantile(0.5)), p99: round3(queueDelay.quantile(0.99)) },
    minRttMs: round3(limiter?.minRtt ?? 0),
    sampleRttMs: round3(limiter?.sampleRtt ?? 0),
    eventLoop: loop
      ? {
          utilization: round3(loop.utilization),
          delayMs: round3(loop.delayMs),
          refusalProbability: round3(loop.probability),
        }
      : null,
    breakers: breakers.map((b) => b.stats()),
  })

  Object.defineProperties(guard, {
    stats: { value: stats },
    breaker: {
      value: <A extends unknown[], R>(
        fn: (...args: A) => Promise<R> | R,
        opts: BreakerOptions<A, R> = {},
      ) => {
        const made: Breaker<A, R> = createBreaker(fn, {
          ...opts,
          registry: opts.registry ?? config.registry,
          logger: opts.logger ?? log,
        })
        breakers.push(made)
        return made
      },
    },
    close: {
      value: () => {
        clearInterval(ticker)
        if (sweeper !== undefined) clearInterval(sweeper)
        sweeper = undefined
        loop?.close()
        for (const b of breakers) b.shutdown()
      },
    },
  })
  if (config.registry) registerMetrics(config.registry, config.metricsPrefix, stats, counts)
  return guard
}
