import { hostname } from 'node:os'
import { optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import type { FleetOptions } from './types'

export const PKG = '@hotpath/fleet'

const KNOWN = [
  'redis',
  'app',
  'instance',
  'sources',
  'interval',
  'prefix',
  'commandTimeout',
  'cacheFor',
  'alerts',
  'regressions',
  'deploy',
  'version',
  'webhookTimeout',
  'logger',
  'now',
] as const

export interface Config {
  readonly app: string
  readonly instance: string
  readonly intervalMs: number
  readonly keys: Keys
  readonly commandTimeoutMs: number
  readonly cacheForMs: number
  readonly webhookTimeoutMs: number
  readonly regressions: { minutes: number; minSamples: number; minFactor: number } | null
  readonly deploy: string | undefined
  readonly version: string
}

/** Every key of one app carries the app's hash tag, so MULTI and MGET work on Redis Cluster. */
export interface Keys {
  instance(id: string): string
  readonly instances: string
  history(step: number, slot: number): string
  readonly markers: string
  alert(id: string): string
  revoked(id: string): string
  readonly channel: string
}

export function resolveOptions(options: Readonly<FleetOptions>): Config {
  if (options === null || typeof options !== 'object') {
    optionError(PKG, 'fleet(options) needs { redis, app, sources }.')
  }
  rejectUnknownOptions(PKG, options, KNOWN)
  if (options.redis === undefined || options.redis === null || options.redis === '') {
    optionError(
      PKG,
      'options.redis is required: a redis:// URL or an ioredis client. Without Redis the dashboard shows this process only; leave `fleet` out.',
      'ERR_HOTPATH_FLEET_REDIS',
    )
  }
  if (typeof options.app !== 'string' || !/^[\w.:-]{1,64}$/.test(options.app)) {
    optionError(PKG, 'options.app must name the app: 1–64 characters of letters, digits, . : _ -.')
  }
  if (options.sources === null || typeof options.sources !== 'object') {
    optionError(PKG, 'options.sources must be the sources object given to the dashboard.')
  }
  const instance = options.instance ?? `${hostname()}:${process.pid}`
  if (typeof instance !== 'string' || instance.length === 0 || instance.length > 128) {
    optionError(PKG, 'options.instance must be a non-empty string of at most 128 characters.')
  }
  const intervalMs = duration('interval', options.interval, 10_000)
  // Each snapshot carries the profiler's last closed 10 s interval: published less often, the
  // intervals in between would never reach the fleet.
  if (intervalMs > 10_000) {
    optionError(
      PKG,
      `options.interval must be at most '10s' (each snapshot carries the last closed 10 s interval; a longer one would leave intervals out), got ${JSON.stringify(options.interval)}.`,
    )
  }
  const prefix = options.prefix ?? 'hotpath:fleet:'
  if (typeof prefix !== 'string') optionError(PKG, 'options.prefix must be a string.')
  const base = `${prefix}{${options.app.replace(/[{}]/g, '_')}}:`
  const regressions =
    options.regressions === false
      ? null
      : {
          minutes: options.regressions?.minutes ?? 5,
          minSamples: options.regressions?.minSamples ?? 200,
          minFactor: options.regressions?.minFactor ?? 1.2,
        }
  return {
    app: options.app,
    instance,
    intervalMs,
    keys: {
      instance: (id) => `${base}i:${id}`,
      instances: `${base}instances`,
      history: (step, slot) => `${base}h${step}:${slot}`,
      markers: `${base}markers`,
      alert: (id) => `${base}alert:${id}`,
      revoked: (id) => `${base}revoked:${id}`,
      channel: `${base}bus`,
    },
    commandTimeoutMs: duration('commandTimeout', options.commandTimeout, 500),
    cacheForMs: duration('cacheFor', options.cacheFor, 2000, true),
    webhookTimeoutMs: duration('webhookTimeout', options.webhookTimeout, 2000),
    regressions,
    deploy: options.deploy ?? process.env.HOTPATH_DEPLOY,
    version: options.version ?? process.env.npm_package_version ?? '',
  }
}

function duration(
  name: string,
  value: number | string | undefined,
  fallback: number,
  zeroOk = false,
): number {
  if (value === undefined) return fallback
  let ms: number
  try {
    ms = parseDuration(value)
  } catch {
    optionError(
      PKG,
      `options.${name} must be a duration such as '10s' or a number of ms, got ${JSON.stringify(value)}.`,
    )
  }
  if (!(ms > 0) && !(zeroOk && ms === 0))
    optionError(PKG, `options.${name} must be positive, got ${JSON.stringify(value)}.`)
  return ms
}
