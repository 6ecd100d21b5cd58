/**
 * The contract between `@hotpath/fleet` and the dashboard: a merged view of every instance of an
 * app, server-side history, alerts and the few fleet-wide actions. The dashboard reads only these
 * shapes; it never imports the fleet package.
 */

/** How many instances a number covers: `fresh` of `total` published within two intervals. */
export interface Coverage {
  fresh: number
  total: number
  stale: string[]
}

export interface FleetRoute {
  route: string
  count: number
  errors: number
  errorRate: number
  rps: number
  p50: number
  p95: number
  p99: number
  max: number
  /** Instances that served this route in the window. */
  instances: number
}

export interface FleetInstance {
  id: string
  /** Milliseconds since it last published. */
  ageMs: number
  stale: boolean
  rps: number
  p95: number
  errorRate: number
  eventLoopP99: number
  rss: number
  heapUsed: number
  cpu: number
  uptimeSeconds: number
  version: string
}

export interface FleetOutlier {
  instance: string
  route: string
  /** Instance p95 over the p95 of the other instances. */
  factor: number
  message: string
}

export interface FleetView {
  app: string
  self: string
  at: number
  /**
   * What the numbers cover: each fresh instance's last closed 10 s interval, merged (so a request
   * shows in the view 10–20 s after it ended, and every interval is published once).
   */
  window: '10s'
  coverage: Coverage
  totals: { count: number; errors: number; rps: number; p50: number; p95: number; p99: number }
  routes: FleetRoute[]
  instances: FleetInstance[]
  outliers: FleetOutlier[]
  /** Sums of every instance's source counters (`cache`, `rateLimit`, …), per source name. */
  sources: Record<string, Record<string, number>>
}

export type HistoryMetric =
  | 'rps'
  | 'p50'
  | 'p95'
  | 'p99'
  | 'errorRate'
  | 's2xx'
  | 's3xx'
  | 's4xx'
  | 's5xx'
  | 'cacheHitRatio'
  | 'eventLoopP99'
  | 'cpu'
  | 'heapUsed'
  | 'rss'

export interface HistoryQuery {
  metric: HistoryMetric
  route?: string
  window?: '1h' | '1d'
}

export interface HistorySeries {
  metric: HistoryMetric
  route: string | null
  window: '1h' | '1d'
  /** Seconds between points: 10 for `1h`, 60 for `1d`. */
  step: number
  /** `[time ms, value]`, oldest first. */
  points: Array<[number, number]>
  markers: Array<{ at: number; label: string }>
}

export interface AlertState {
  id: string
  rule: string
  state: 'ok' | 'pending' | 'firing'
  since: number | null
  value: number | null
  route: string | null
}

export interface Regression {
  route: string
  metric: 'p95' | 'errorRate'
  current: number
  baseline: number
  /** One-sided z score of the test (see the fleet README). */
  z: number
  since: number
  /** The last deploy marker before it began, if any. */
  deploy: string | null
}

/** What `dashboard({ fleet })` uses. */
export interface FleetSource {
  readonly name: 'fleet'
  readonly app: string
  readonly instance: string
  view(): Promise<FleetView>
  history(query: HistoryQuery): Promise<HistorySeries>
  alerts(): AlertState[]
  regressions(): Regression[]
  /** Records a deploy (or any) marker on every instance's charts. */
  mark(label: string): Promise<void>
  /** Runs a dashboard action on every other instance (this one has already run it). */
  broadcast(action: FleetAction): Promise<void>
  /** Registers what this instance does when another one broadcasts. */
  onAction(handler: (action: FleetAction) => void | Promise<void>): () => void
  /** Sign-in sessions that every instance can verify, revoked everywhere on sign-out. */
  readonly sessions: FleetSessions
}

export type FleetAction =
  | { kind: 'cache-clear'; body: Record<string, unknown> }
  | { kind: 'task-cancel'; id: string }

export interface FleetSessions {
  /** Revokes a session id until `expiresAt` on every instance. */
  revoke(id: string, expiresAt: number): void
  isRevoked(id: string): boolean
}
