/**
 * Four real app processes on one real redis-server, each with its own profiler, response cache
 * and dashboard in fleet mode: what any one instance's dashboard shows of all of them.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type AppProcess, type Fixture, prepareFixture, startApp } from '../../../test/helpers/app-processes'
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'

const TOKEN = 'fleet-test-token-0123456789abcdef'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface View {
  coverage: { fresh: number; total: number; stale: string[] }
  routes: Array<{ route: string; count: number; p50: number; p95: number; p99: number; instances: number }>
  instances: Array<{ id: string; stale: boolean }>
  outliers: Array<{ instance: string; route: string; factor: number }>
}

/** HDR's answer for the p-th percentile of raw samples: the value at rank ceil(p·n). */
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describeRedis('a fleet of four real processes on one Redis', () => {
  let redis: RedisHandle
  let fixture: Fixture
  let webhook: Server
  let received: Array<{ status: string; route: string | null }> = []
  let apps: AppProcess[] = []
  const ports: number[] = []

  const url = (i: number, path: string) => `http://127.0.0.1:${ports[i]}${path}`

  /**
   * On every instance: starts a new 10 s interval of its profiler's clock, runs `serve`, closes the
   * interval and publishes, so that what was served is exactly what the snapshots carry.
   */
  async function closeInterval(serve: (a: AppProcess, i: number) => Promise<void>): Promise<void> {
    await Promise.all(
      apps.map(async (a, i) => {
        await a.call('nextInterval')
        await serve(a, i)
        await a.call('nextInterval')
        await a.call('publish')
      }),
    )
  }

  beforeAll(async () => {
    redis = await startRedis()
    fixture = prepareFixture(join(__dirname, 'fixtures', 'instance.js'))
    webhook = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        received.push(JSON.parse(body))
        res.end('ok')
      })
    })
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r))
    const app = uniquePrefix('fleet')
      .replace(/[^\w.:-]/g, '_')
      .slice(0, 60)
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
    apps = await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) =>
        startApp(fixture, {
          REDIS_URL: redis.url,
          APP: app,
          INSTANCE: id,
          TOKEN,
          INTERVAL: '300',
          WEBHOOK: hook,
        }),
      ),
    )
    for (const a of apps) ports.push(await a.call<number>('port'))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.exit()))
    await new Promise((r) => webhook.close(r))
    await redis.destroy()
    fixture.cleanup()
  }, 30_000)

  it('merges percentiles exactly: fleet p50/p95/p99 equal those of the union of every raw sample', async () => {
    // Each instance serves a different distribution, so no single instance's numbers are the fleet's;
    // each within one 10 s interval of its profiler's clock (d's 100 requests take ~8 s of it).
    const samples = apps.map((_a, i) =>
      Array.from({ length: 100 }, (_x, k) => 1 + ((k * 7 + i * 13) % 40) * (i + 1)),
    )
    await closeInterval(async (a, i) => {
      await a.call('serve', { path: '/work', durations: samples[i] })
    })
    const view = await apps[2]?.call<View>('view')
    const route = view?.routes.find((r) => r.route === 'GET /work')
    const union = samples.flat().sort((x, y) => x - y)
    expect(route?.count).toBe(400)
    expect(route?.instances).toBe(4)
    for (const [p, got] of [
      [50, route?.p50],
      [95, route?.p95],
      [99, route?.p99],
    ] as const) {
      const exact = exactPercentile(union, p)
      // 3 significant digits: within 0.1% of the exact value.
      expect(Math.abs((got as number) - exact)).toBeLessThanOrEqual(exact * 0.001 + 1e-9)
    }
    expect(view?.coverage).toEqual({ fresh: 4, total: 4, stale: [] })
  })

  it('flags the instance that is several times slower on a route', async () => {
    await closeInterval(async (a, i) => {
      await a.call('serve', {
        path: '/compare',
        durations: Array.from({ length: 40 }, () => (i === 1 ? 90 : 10)),
      })
    })
    const view = await apps[0]?.call<View>('view')
    expect(view?.outliers.map((o) => [o.instance, o.route])).toEqual([['b', 'GET /compare']])
  })

  it('accepts a sign-in made on one instance on every other, and a sign-out on one revokes it everywhere', async () => {
    const login = await fetch(url(0, '/perf/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKEN}`,
      redirect: 'manual',
    })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
    expect(cookie).toMatch(/^hotpath_dashboard=[A-Za-z0-9_-]+$/)
    for (let i = 0; i < 4; i++) {
      const res = await fetch(url(i, '/perf/dashboard'), { headers: { cookie } })
      expect(res.status).toBe(200)
    }
    const out = await fetch(url(2, '/perf/logout'), {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    })
    expect(out.status).toBeLessThan(400)
    for (const i of [0, 1, 3]) {
      await until(`instance ${i} to refuse the signed-out cookie`, async () => {
        const res = await fetch(url(i, '/perf/dashboard'), { headers: { cookie } })
        return res.status === 401 ? true : undefined
      })
    }
  })

  it('clears a tag in every instance’s memory cache from one instance’s dashboard', async () => {
    for (let i = 0; i < 4; i++) await fetch(url(i, '/cached'))
    for (const a of apps) expect(await a.call<number>('entries')).toBe(1)
    const res = await fetch(url(3, '/perf/cache/clear'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tag: 'products' }),
    })
    expect(res.status).toBe(200)
    for (const a of apps)
      await until('the entry to be gone', async () =>
        (await a.call<number>('entries')) === 0 ? true : undefined,
      )
  })

  it('cancels a task running on another instance from one instance’s dashboard', async () => {
    const id = await apps[1]?.call<string>('submit')
    await until('the task to run', async () =>
      (await apps[1]?.call<string>('task', { id })) === 'running' ? true : undefined,
    )
    await fetch(url(0, `/perf/tasks/${id}`), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    await until('the task to be cancelled where it runs', async () =>
      (await apps[1]?.call<string>('task', { id })) === 'cancelled' ? true : undefined,
    )
  })

  it('fires an alert once to the webhook when one route is slow, and resolves it once', async () => {
    received = []
    await apps[1]?.call('nextInterval')
    await apps[1]?.call('serve', { path: '/slow', durations: Array.from({ length: 30 }, () => 120) })
    // Its interval closes: the instance's snapshots carry the slow requests from now on.
    await apps[1]?.call('nextInterval')
    const firing = await until(
      'one firing notification',
      async () => {
        const f = received.filter((e) => e.status === 'firing')
        return f.length > 0 ? f : undefined
      },
      8000,
    )
    expect(firing).toHaveLength(1)
    expect(firing[0]?.route).toBe('GET /slow')
    // Another interval closes without them: the rule stops holding.
    await apps[1]?.call('nextInterval')
    await until(
      'one resolved notification',
      async () => (received.some((e) => e.status === 'resolved') ? true : undefined),
      8000,
    )
    await sleep(1000)
    expect(received.filter((e) => e.status === 'firing')).toHaveLength(1)
    expect(received.filter((e) => e.status === 'resolved')).toHaveLength(1)
  })

  it('serves server-side history: a reload finds the points already there', async () => {
    const res = await fetch(url(0, '/perf/history?metric=rps&window=1h'), {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    const body = (await res.json()) as { fleet: boolean; step: number; points: Array<[number, number]> }
    expect(res.status).toBe(200)
    expect(body.fleet).toBe(true)
    expect(body.step).toBe(10)
    expect(body.points.length).toBeGreaterThan(0)
  })

  it('shows a killed instance as stale within two intervals, and the others still answer', async () => {
    apps[3]?.kill()
    const view = await until('d to turn stale', async () => {
      const v = await apps[0]?.call<View>('view')
      return v?.coverage.stale.includes('d') ? v : undefined
    })
    expect(view.coverage).toEqual({ fresh: 3, total: 4, stale: ['d'] })
    expect(view.instances.find((i) => i.id === 'd')?.stale).toBe(true)
  })
})
