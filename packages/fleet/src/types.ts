import type {
  AlertState,
  FleetAction,
  FleetSource,
  FleetView,
  HistoryMetric,
  Logger,
  StatsSource,
} from '@hotpath/core'
import type { Cluster, Redis } from 'ioredis'

/** A snapshot the rules of `alerts` may test as a function. */
export type AlertPredicate = (view: FleetView) => boolean

/**
 * `notify` receives one of these when an incident starts (`firing`) and when it ends
 * (`resolved`); a URL gets it as a JSON `POST`.
 */
export interface AlertEvent {
  status: 'firing' | 'resolved'
  id: string
  rule: string
  app: string
  route: string | null
  value: number | null
  threshold: number | null
  startedAt: number
  at: number
}

export interface AlertRule {
  /** Stable id; default: the rule's text (or `alert-<n>` for a function). */
  id?: string
  /**
   * `'<metric> <op> <value> for <duration> [on <route glob>]'`, e.g.
   * `'p95 > 300ms for 5m on GET /api/**'`; metrics `p50 p95 p99 rps errorRate`; or a function of the view.
   */
  when: string | AlertPredicate
  /** For a function rule: how long it must hold before it fires (a text rule says it itself). Default 0. */
  for?: number | string
  /** A webhook URL (JSON POST with a deadline), or a function. */
  notify: string | ((event: AlertEvent) => void | Promise<void>)
}

export interface FleetOptions {
  /** A `redis://` URL or an ioredis client (standalone or Cluster). Required. */
  redis: string | Redis | Cluster
  /** The app's name: instances of one app share a fleet. Required. */
  app: string
  /** This instance's id. Default `<hostname>:<pid>`. */
  instance?: string
  /** The sources to publish (`profiler` gives the per-route histograms), as given to the dashboard. */
  sources: Readonly<Record<string, StatsSource | undefined>>
  /** How often this instance publishes. Default `'10s'`. */
  interval?: number | string
  /** Key prefix. Default `'hotpath:fleet:'`. */
  prefix?: string
  /** Deadline of every Redis call. Default `'500ms'`. */
  commandTimeout?: number | string
  /** How long a merged view is reused. Default `'2s'`. */
  cacheFor?: number | string
  alerts?: readonly AlertRule[]
  /** Regression detection: minutes a route must stay above baseline, and samples needed. */
  regressions?: { minutes?: number; minSamples?: number; minFactor?: number } | false
  /** A deploy marker recorded at start (default `process.env.HOTPATH_DEPLOY`). */
  deploy?: string
  /** The app's version shown per instance. Default `process.env.npm_package_version` or `''`. */
  version?: string
  /** Deadline of a webhook call. Default `'2s'`. */
  webhookTimeout?: number | string
  /** Default `console`. */
  logger?: Logger
  /** Clock in ms, for tests. Default `Date.now`. */
  now?: () => number
}

export interface Fleet extends FleetSource {
  /** Publishes this instance's snapshot now (it also runs every `interval`). */
  publish(): Promise<void>
  /** Stops publishing, removes this instance from the fleet and closes connections it opened. */
  close(): Promise<void>
  /** Evaluates the alert rules now against a fresh view (it also runs every `interval`). */
  evaluate(): Promise<AlertState[]>
}

export type { FleetAction, HistoryMetric }
