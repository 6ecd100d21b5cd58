import { createHash } from 'node:crypto'
import {
  type AlertState,
  createLogger,
  type FleetAction,
  type HistoryQuery,
  type HistorySeries,
  isHistoryMetric,
  type HistoryPoint as Point,
  parseDuration,
  HistoryRing as Ring,
  HISTORY_STEPS as STEPS,
  historySeries as seriesOf,
} from '@hotpath/core'
import { createAlert, parseCondition } from './alerts'
import { minuteOf, pointOf } from './history'
import { createNotifier } from './notify'
import { resolveOptions } from './options'
import { connect } from './redis'
import { createRegressionDetector } from './regression'
import { createSnapshotter, parseSnapshot, type Snapshot, serializeSnapshot } from './snapshot'
import type { AlertEvent, Fleet, FleetOptions } from './types'
import { DecodeCache, type Merged, mergeView } from './view'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const MAX_INSTANCES = 1000

/**
 * Fleet mode: every instance publishes its snapshot to Redis each `interval`, and any instance's
 * dashboard reads all of them, merged on read (exactly, for percentiles) and cached briefly.
 */
export function fleet(options: Readonly<FleetOptions>): Fleet {
  const config = resolveOptions(options)
  const log = createLogger(options.logger)
  const now = options.now ?? Date.now
  const { keys, instance: self } = config
  const redis = connect(options.redis, config.commandTimeoutMs)
  const snapshotter = createSnapshotter(
    self,
    config.version,
    config.intervalMs,
    options.sources,
    now,
    (name, err) =>
      log.warnOnce(
        `ERR_HOTPATH_FLEET_SOURCE_${name}`,
        `@hotpath/fleet: ${name}.stats() threw; it is left out.`,
        err,
      ),
  )
  const local10 = new Ring(STEPS['1h'].points)
  const local60 = new Ring(STEPS['1d'].points)
  const markers: Array<{ at: number; label: string }> = []
  const revoked = new Map<string, number>()
  const handlers = new Set<(action: FleetAction) => void | Promise<void>>()
  const notifier = createNotifier(config.webhookTimeoutMs, log)
  const detector = config.regressions ? createRegressionDetector(config.regressions) : null
  let cached: { at: number; merged: Promise<Merged> } | null = null
  const decodeCache = new DecodeCache(log.warnOnce)
  let lastMinute = -1
  let closed = false

  const digest = (id: string) => createHash('sha256').update(id).digest('base64url').slice(0, 32)
  const redisFailed = (what: string) => (err: unknown) => {
    log.warnOnce(
      'ERR_HOTPATH_FLEET_REDIS_DOWN',
      `@hotpath/fleet: Redis did not answer (${what}); this instance shows what it has and retries.`,
      err,
    )
  }

  const alerts = (options.alerts ?? []).map((rule, i) => {
    const condition = parseCondition(rule.when, parseForMs(rule))
    const id = rule.id ?? (typeof rule.when === 'string' ? rule.when : `alert-${i + 1}`)
    return createAlert(
      id,
      rule,
      condition,
      config.app,
      (alertId, incident) =>
        redis
          .call('alert claim', (c) => c.set(keys.alert(digest(alertId)), incident, 'PX', DAY, 'NX'))
          .then(
            (r) => r === 'OK',
            () => true,
          ),
      (alertId) =>
        redis
          .call('alert release', (c) => c.del(keys.alert(digest(alertId))))
          .then(
            (n) => n === 1,
            () => true,
          ),
      (event: AlertEvent) => notifier.send(rule.notify, event),
    )
  })

  // --- the control channel: actions, markers and revocations from other instances -------------
  redis.subscriber.on('message', (_channel: string, raw: string) => {
    let msg: {
      from?: string
      kind?: string
      action?: FleetAction
      digest?: string
      exp?: number
      at?: number
      label?: string
    }
    try {
      msg = JSON.parse(raw)
    } catch {
      return
    }
    if (msg.from === self) return
    if (msg.kind === 'revoke' && typeof msg.digest === 'string' && typeof msg.exp === 'number') {
      revoked.set(msg.digest, msg.exp)
    } else if (msg.kind === 'mark' && typeof msg.label === 'string' && typeof msg.at === 'number') {
      addMarker(msg.at, msg.label)
    } else if (msg.kind === 'action' && msg.action) {
      for (const h of handlers) {
        Promise.resolve()
          .then(() => h(msg.action as FleetAction))
          .catch((err) =>
            log.warnOnce(
              'ERR_HOTPATH_FLEET_ACTION',
              '@hotpath/fleet: an action from another instance failed here.',
              err,
            ),
          )
      }
    }
  })
  const subscribed = (redis.subscriber.subscribe(keys.channel) as Promise<unknown>)
    .then(loadShared)
    .catch(redisFailed('subscribe'))
  redis.subscriber.on('ready', () => {
    if (!closed)
      (redis.subscriber.subscribe(keys.channel) as Promise<unknown>)
        .then(loadShared)
        .catch(redisFailed('resubscribe'))
  })

  async function loadShared(): Promise<void> {
    const at = now()
    const [rev, marks] = await Promise.all([
      redis.call('revocations', (c) => c.zrangebyscore(keys.revoked('all'), at, '+inf', 'WITHSCORES')),
      redis.call('markers', (c) => c.zrangebyscore(keys.markers, at - DAY, '+inf', 'WITHSCORES')),
    ])
    for (let i = 0; i + 1 < rev.length; i += 2) revoked.set(rev[i] as string, Number(rev[i + 1]))
    for (let i = 0; i + 1 < marks.length; i += 2) addMarker(Number(marks[i + 1]), marks[i] as string)
  }

  function addMarker(at: number, label: string): void {
    if (markers.some((m) => m.label === label)) return
    markers.push({ at, label })
    markers.sort((a, b) => a.at - b.at)
    while (markers.length > 100) markers.shift()
  }

  async function send(message: Record<string, unknown>): Promise<void> {
    await redis.call('publish', (c) => c.publish(keys.channel, JSON.stringify({ from: self, ...message })))
  }

  // --- publishing ------------------------------------------------------------------------------
  async function publish(): Promise<void> {
    if (closed) return
    const snapshot = snapshotter.take()
    const at = snapshot.at
    await redis.call('publish snapshot', (c) =>
      c
        .multi()
        .set(keys.instance(self), serializeSnapshot(snapshot), 'PX', 3 * config.intervalMs)
        .zadd(keys.instances, at, self)
        .zremrangebyscore(keys.instances, '-inf', at - HOUR)
        .exec(),
    )
    cached = null
    const merged = await read()
    const point = pointOf(merged.view, merged.statusRps)
    const minute = Math.floor(at / 60_000)
    const writes: Array<[string, Point, number]> = [
      [keys.history(10, Math.floor(at / 10_000)), point, HOUR + 60_000],
    ]
    if (minute !== lastMinute) {
      // The minute that just ended, from its 10 s points (this instance's reads of the fleet).
      const from = lastMinute * 60_000
      const ended =
        lastMinute < 0
          ? null
          : minuteOf(
              local10.toArray().filter((p) => p.at >= from && p.at < from + 60_000),
              from,
            )
      if (ended) {
        local60.push(ended)
        writes.push([keys.history(60, lastMinute), ended, DAY + 60_000])
      }
      lastMinute = minute
    }
    local10.push(point)
    // NX: the first instance to write a slot's point wins; they all see the same merged fleet.
    await redis.call('history', (c) => {
      const m = c.multi()
      for (const [key, value, ttl] of writes) m.set(key, JSON.stringify(value), 'PX', ttl, 'NX')
      return m.exec()
    })
    await evaluateWith(merged)
  }

  async function evaluateWith(merged: Merged): Promise<AlertState[]> {
    const at = merged.view.at
    for (const a of alerts) await a.step(merged.view, at)
    if (detector) {
      const points = await readPoints('1d').catch(() => local60.toArray())
      detector.evaluate(merged.view, points, merged.slower, markers)
    }
    return alerts.map((a) => a.state())
  }

  // --- reading -----------------------------------------------------------------------------------
  function read(): Promise<Merged> {
    const at = now()
    if (cached && at - cached.at < config.cacheForMs) return cached.merged
    const merged = (async () => {
      let ids: string[] = []
      let snapshots: Array<Snapshot | null> = []
      try {
        ids = (
          await redis.call('instances', (c) => c.zrangebyscore(keys.instances, at - HOUR, '+inf'))
        ).slice(-MAX_INSTANCES)
        const raw = ids.length
          ? await redis.call('snapshots', (c) => c.mgetBuffer(...ids.map((id) => keys.instance(id))))
          : []
        snapshots = raw.map((r) => parseSnapshot(r, log.warnOnce))
      } catch (err) {
        redisFailed('read')(err)
        // Redis is away: the view is this instance alone, and says so in its coverage.
        const own = snapshotter.take()
        ids = [self]
        snapshots = [own]
      }
      decodeCache.keep(ids)
      return mergeView(config.app, self, at, ids, snapshots, decodeCache)
    })()
    cached = { at, merged }
    merged.catch(() => {
      cached = null
    })
    return merged
  }

  async function readPoints(window: '1h' | '1d'): Promise<Point[]> {
    const { step, points } = STEPS[window]
    const last = Math.floor(now() / (step * 1000))
    const slots = Array.from({ length: points }, (_, i) => last - points + 1 + i)
    const out: Point[] = []
    for (let i = 0; i < slots.length; i += 500) {
      const chunk = slots.slice(i, i + 500).map((s) => keys.history(step, s))
      const raw = await redis.call('history read', (c) => c.mget(...chunk))
      for (const r of raw) {
        const p = parsePoint(r)
        if (p) out.push(p)
      }
    }
    return out
  }

  async function history(query: HistoryQuery): Promise<HistorySeries> {
    const window = query.window ?? '1h'
    if (!isHistoryMetric(query.metric)) throw new RangeError(`unknown metric ${JSON.stringify(query.metric)}`)
    let points: Point[]
    try {
      points = await readPoints(window)
    } catch (err) {
      redisFailed('history')(err)
      points = (window === '1h' ? local10 : local60).toArray()
    }
    const from = now() - (window === '1h' ? HOUR : DAY)
    return seriesOf(
      points,
      query.metric,
      query.route ?? null,
      window,
      markers.filter((m) => m.at >= from),
    )
  }

  async function mark(label: string): Promise<void> {
    if (typeof label !== 'string' || label.length === 0 || label.length > 200) {
      throw new RangeError('a marker label is a string of 1 to 200 characters')
    }
    const at = now()
    addMarker(at, label)
    await redis.call('mark', (c) => c.zadd(keys.markers, 'NX', at, label))
    await redis.call('trim markers', (c) => c.zremrangebyscore(keys.markers, '-inf', at - DAY))
    await send({ kind: 'mark', at, label })
  }

  const timer = setInterval(() => {
    publish().catch(redisFailed('publish'))
  }, config.intervalMs)
  timer.unref()
  setImmediate(() => {
    publish().catch(redisFailed('publish'))
  })
  if (config.deploy) mark(`deploy ${config.deploy}`).catch(redisFailed('deploy marker'))

  return {
    name: 'fleet',
    app: config.app,
    instance: self,
    publish,
    view: async () => (await read()).view,
    history,
    alerts: () => alerts.map((a) => a.state()),
    regressions: () => detector?.current() ?? [],
    evaluate: async () => {
      cached = null
      return evaluateWith(await read())
    },
    mark,
    broadcast: (action) => send({ kind: 'action', action }),
    onAction(handler) {
      handlers.add(handler)
      return () => handlers.delete(handler)
    },
    sessions: {
      revoke(id, expiresAt) {
        const d = digest(id)
        revoked.set(d, expiresAt)
        redis
          .call('revoke', (c) => c.zadd(keys.revoked('all'), expiresAt, d))
          .then(() => send({ kind: 'revoke', digest: d, exp: expiresAt }))
          .catch(redisFailed('revoke'))
      },
      isRevoked(id) {
        const d = digest(id)
        const exp = revoked.get(d)
        if (exp === undefined) return false
        if (exp > now()) return true
        revoked.delete(d)
        return false
      },
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      snapshotter.close()
      await subscribed
      await redis
        .call('leave', (c) => c.multi().zrem(keys.instances, self).del(keys.instance(self)).exec())
        .catch(() => {})
      await notifier.idle()
      await redis.close()
    },
  }
}

function parseForMs(rule: { for?: number | string }): number {
  return rule.for === undefined ? 0 : parseDuration(rule.for, 'alert for')
}

function parsePoint(raw: string | null): Point | null {
  if (raw === null) return null
  try {
    const p = JSON.parse(raw) as Point
    return typeof p.at === 'number' && Array.isArray(p.routes) ? p : null
  } catch {
    return null
  }
}
