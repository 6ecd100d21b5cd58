/**
 * The guard as the dashboard sees it: the `overload` field of GET /dashboard, the insights it
 * raises, and the guard itself mounted as critical so the dashboard is never shed.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { dashboard } from '@hotpath/dashboard'
import { express } from '../../../test/helpers/express'
import { type OverloadGuard, overload } from '../src'

let server: http.Server
let guard: OverloadGuard
let base: string
const held: Array<() => void> = []

beforeAll(async () => {
  guard = overload({
    minLimit: 1,
    maxLimit: 1,
    initialLimit: 1,
    maxQueue: 0,
    eventLoop: false,
    priorities: [{ match: '/admin/**', priority: 'critical' }],
  })
  const app = express()
  app.use(guard)
  app.use(
    '/admin',
    dashboard({
      auth: 'none',
      sources: { overload: guard },
      logger: { warn: () => undefined, error: () => undefined },
    }),
  )
  app.get('/hold', (_req, res) => {
    held.push(() => res.send('done'))
  })
  app.get('/work', (_req, res) => {
    res.send('ok')
  })
  server = http.createServer(app)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const release of held) release()
  guard.close()
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

async function dashboardDoc(): Promise<
  Record<string, unknown> & {
    overload: Record<string, unknown>
    insights: Array<{ id: string; severity: string }>
  }
> {
  const res = await fetch(`${base}/admin/dashboard`)
  expect(res.status).toBe(200)
  return (await res.json()) as never
}

describe('the overload numbers on the dashboard', () => {
  beforeAll(async () => {
    await fetch(`${base}/work`)
    void fetch(`${base}/hold`).catch(() => undefined)
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    // The one slot is taken: these are refused (queue-full), and the dashboard is still served.
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/work`)).status).toBe(503)
  })

  it('serves the dashboard (critical) while the guard refuses other requests', async () => {
    expect((await fetch(`${base}/admin/dashboard`)).status).toBe(200)
  })

  it('carries admitted, refused by reason, limit and in-flight in the overload field', async () => {
    const doc = await dashboardDoc()
    expect((doc.sources as Record<string, boolean>).overload).toBe(true)
    expect(doc.overload).toMatchObject({
      refused: { 'queue-timeout': 0, 'queue-full': 3, 'event-loop': 0 },
      limit: 1,
      inFlight: 1,
      queued: 0,
    })
    expect(doc.overload.admitted).toBeGreaterThanOrEqual(2)
  })

  it('raises overload-shedding once enough requests were refused', async () => {
    for (let i = 0; i < 20; i++) await fetch(`${base}/work`)
    const doc = await dashboardDoc()
    expect(doc.insights).toContainEqual(
      expect.objectContaining({ id: 'overload-shedding', severity: 'critical' }),
    )
  })

  it('raises breaker-open for an open circuit breaker of the guard', async () => {
    const call = guard.breaker(async () => 'ok', { name: 'payments' })
    call.open()
    const doc = await dashboardDoc()
    expect(doc.insights).toContainEqual(expect.objectContaining({ id: 'breaker-open', severity: 'critical' }))
    expect(doc.overload.breakers).toEqual([expect.objectContaining({ name: 'payments', state: 'open' })])
  })
})
