/**
 * Real overload: the fixture app runs in its own process and this process offers it load at a
 * fixed arrival rate over loopback (open loop: users keep arriving whether or not the server
 * keeps up). GET /work costs 5 ms + 5 ms per request running at once — a resource that slows
 * down with contention — so its capacity is under 200 requests/s, and at 400/s an unprotected
 * app's latency grows without bound. Bounds are loose on purpose: the host is shared.
 */
import { type App, buildDir, offer, type Sample, startApp } from './helpers'

const COST = { BASE_MS: '5', PER_ACTIVE_MS: '5' }
let build: ReturnType<typeof buildDir>
const apps: App[] = []

beforeAll(() => {
  build = buildDir()
})
afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()))
  build.remove()
})

async function app(env: Record<string, string>): Promise<App> {
  const started = await startApp(build.dir, env)
  apps.push(started)
  return started
}

const ok = (samples: Sample[], path?: string) =>
  samples.filter((s) => s.status === 200 && (path === undefined || s.path === path))
const refused = (samples: Sample[], path?: string) =>
  samples.filter((s) => s.status === 503 && (path === undefined || s.path === path))
const share = (part: Sample[], whole: Sample[]) => (whole.length === 0 ? 0 : part.length / whole.length)
interface Served {
  guard: { refused: Record<string, number>; eventLoop: { utilization: number } | null }
  served: { count: number; p50: number; p99: number; within250: number }
}
const statsOf = async (target: App): Promise<Served> =>
  (await (await fetch(`${target.url}/stats`)).json()) as Served

describe('an app offered twice its capacity', () => {
  let underLoad: Sample[]
  let recovered: Sample[]
  let stats: Served
  let bareStats: Served

  beforeAll(async () => {
    // The event-loop guard off: this is the queue and the concurrency limit at work (a shared
    // host's scheduling stalls would otherwise read as a busy loop).
    const [guarded, bare] = await Promise.all([
      app({ ...COST, OVERLOAD: '{"eventLoop":false}' }),
      app({ ...COST, OVERLOAD: 'off' }),
    ])
    // A comfortable rate first: the guard measures minRTT on it.
    await offer(guarded.url, 100, 0.6, ['/work'])
    underLoad = await offer(guarded.url, 400, 2.5, ['/work'])
    await offer(bare.url, 400, 2.5, ['/work'])
    await new Promise((r) => setTimeout(r, 300))
    recovered = await offer(guarded.url, 50, 1, ['/work'])
    stats = await statsOf(guarded)
    bareStats = await statsOf(bare)
  }, 40_000)

  it('refuses part of the load with 503', () => {
    expect(share(refused(underLoad), underLoad)).toBeGreaterThan(0.2)
    expect(stats.guard.refused['queue-timeout']).toBeGreaterThan(0)
  })

  it('sends Retry-After: 1 with every refusal', () => {
    expect(refused(underLoad).map((s) => s.retryAfter)).toEqual(refused(underLoad).map(() => '1'))
  })

  // Latency as the app sees it (first middleware to 'finish'): on a shared host the load
  // generator's own lag would otherwise be most of what is measured.
  it('keeps the p99 latency of admitted requests a fraction of the unprotected one', () => {
    expect(ok(underLoad).length).toBeGreaterThan(100)
    expect(stats.served.p99).toBeLessThan(bareStats.served.p99 / 3)
  })

  it('answers more requests within 250 ms than the unprotected app', () => {
    expect(stats.served.within250).toBeGreaterThan(bareStats.served.within250)
  })

  it('answers nine in ten of the requests it admits within 250 ms', () => {
    expect(stats.served.within250).toBeGreaterThanOrEqual(stats.served.count * 0.9)
  })

  it('lets every request through again once the load falls', () => {
    expect(recovered.map((s) => s.status)).toEqual(recovered.map(() => 200))
  })
})

describe('priorities under load', () => {
  let samples: Sample[]

  beforeAll(async () => {
    const guarded = await app({ ...COST })
    await offer(guarded.url, 100, 0.6, ['/work'])
    // Normal and sheddable traffic alike past capacity, with health checks among them.
    samples = await offer(guarded.url, 500, 2, [
      '/work',
      '/reports/daily',
      '/work',
      '/reports/daily',
      '/health',
    ])
  }, 30_000)

  it('never sheds a critical request (health check)', () => {
    const health = samples.filter((s) => s.path === '/health')
    expect(health.length).toBe(200)
    expect(health.map((s) => s.status)).toEqual(health.map(() => 200))
  })

  it('sheds sheddable requests before normal ones', () => {
    const normal = samples.filter((s) => s.path === '/work')
    const reports = samples.filter((s) => s.path === '/reports/daily')
    expect(share(refused(reports), reports)).toBeGreaterThan(share(refused(normal), normal))
    expect(ok(normal).length).toBeGreaterThan(ok(reports).length)
  })
})

describe('a CPU-bound route past what one event loop can run', () => {
  let samples: Sample[]
  let stats: Served

  beforeAll(async () => {
    // The concurrency limit off: the event-loop guard alone stands between the load and the loop.
    const guarded = await app({ CPU_ROUTE_MS: '20', OVERLOAD: '{"concurrency":false}' })
    // 20 ms of CPU per request at 150/s is three times what the loop can run.
    samples = await offer(guarded.url, 150, 2.5, ['/cpu'])
    stats = await statsOf(guarded)
  }, 30_000)

  it('refuses part of the load for the event loop', () => {
    expect(stats.guard.refused['event-loop']).toBeGreaterThan(0)
    expect(refused(samples).length).toBeGreaterThan(0)
  })

  it('still serves part of it', () => {
    expect(ok(samples).length).toBeGreaterThan(samples.length * 0.1)
  })
})
