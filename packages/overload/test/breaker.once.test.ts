/**
 * The breaker against a real upstream HTTP server in its own process on loopback, made slow,
 * failing or healthy between calls.
 */
import { type ChildProcess, fork } from 'node:child_process'
import http from 'node:http'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { type Breaker, type BreakerOptions, breaker, overload } from '../src'

let upstream: ChildProcess
let base: string
const agent = new http.Agent({ keepAlive: true })

function ask<T>(message: object): Promise<T> {
  return new Promise((resolve) => {
    upstream.once('message', (answer) => resolve(answer as T))
    upstream.send(message)
  })
}
const setUpstream = (mode: 'ok' | 'fail' | 'missing', delayMs = 0) => ask({ mode, delayMs })
const hits = async () => (await ask<{ hits: number }>({ hits: true })).hits

beforeAll(async () => {
  upstream = fork(join(__dirname, 'fixtures', 'upstream.js'), [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const { port } = await new Promise<{ port: number }>((resolve) =>
    upstream.once('message', (m) => resolve(m as { port: number })),
  )
  base = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  agent.destroy()
  await new Promise<void>((done) => {
    upstream.once('exit', () => done())
    upstream.send('stop')
  })
})

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`)
  }
}

/** The outbound call under test: GET the upstream, resolve its body, reject on 4xx/5xx. */
function fetchUpstream(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/item`, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        (res.statusCode ?? 0) >= 400 ? reject(new HttpError(res.statusCode ?? 0)) : resolve(body),
      )
    })
    req.on('error', reject)
  })
}

const made: Breaker[] = []
afterEach(() => {
  for (const b of made.splice(0)) b.shutdown()
})
function upstreamBreaker(options: BreakerOptions<[], string> = {}): Breaker<[], string> {
  const b = breaker(fetchUpstream, {
    name: 'upstream',
    minimumCalls: 4,
    resetTimeout: 300,
    timeout: 150,
    slowCallDuration: 100,
    ...options,
  })
  made.push(b as Breaker)
  return b
}
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? String(err),
  )
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('against a slow upstream', () => {
  beforeEach(() => setUpstream('ok', 400))

  it('fails a call that outlasts the timeout with ERR_HOTPATH_BREAKER_TIMEOUT', async () => {
    const call = upstreamBreaker()
    expect(await codeOf(call())).toBe('ERR_HOTPATH_BREAKER_TIMEOUT')
  })

  it('opens once the failure rate of the window reaches the threshold', async () => {
    const call = upstreamBreaker()
    for (let i = 0; i < 4; i++) await codeOf(call())
    expect(call.state).toBe('open')
  })

  it('rejects at once with ERR_HOTPATH_BREAKER_OPEN while open, without calling the upstream', async () => {
    const call = upstreamBreaker()
    for (let i = 0; i < 4; i++) await codeOf(call())
    const before = await hits()
    const started = performance.now()
    expect(await codeOf(call())).toBe('ERR_HOTPATH_BREAKER_OPEN')
    expect(performance.now() - started).toBeLessThan(50)
    expect(await hits()).toBe(before)
  })

  it('answers from the fallback while open, given the hotpath error', async () => {
    const call = upstreamBreaker({ fallback: (err) => `stale (${(err as { code?: string }).code})` })
    for (let i = 0; i < 4; i++) await call()
    expect(await call()).toBe('stale (ERR_HOTPATH_BREAKER_OPEN)')
    expect(call.stats().fallbacks).toBe(5)
  })
})

describe('recovery', () => {
  it('lets one probe through after resetTimeout and closes when the upstream has recovered', async () => {
    await setUpstream('ok', 400)
    const call = upstreamBreaker()
    for (let i = 0; i < 4; i++) await codeOf(call())
    expect(call.state).toBe('open')
    await setUpstream('ok', 0)
    await sleep(350)
    expect(call.state).toBe('half-open')
    expect(await call()).toBe('fresh')
    expect(call.state).toBe('closed')
    expect(await call()).toBe('fresh')
  })

  it('opens again when the half-open probe fails', async () => {
    await setUpstream('fail')
    const call = upstreamBreaker()
    for (let i = 0; i < 4; i++) await codeOf(call())
    await sleep(350)
    expect(await codeOf(call())).toBe('Error: upstream answered 500')
    expect(call.state).toBe('open')
  })
})

describe('capacity and options', () => {
  it('rejects a call beyond capacity with ERR_HOTPATH_BREAKER_CAPACITY', async () => {
    await setUpstream('ok', 100)
    const call = upstreamBreaker({ capacity: 1, timeout: 1000 })
    const first = call()
    expect(await codeOf(call())).toBe('ERR_HOTPATH_BREAKER_CAPACITY')
    expect(await first).toBe('fresh')
  })

  it('does not change the options it was given', () => {
    const options = Object.freeze({ name: 'frozen', timeout: '1s', failureRate: 0.5 })
    const copy = { ...options }
    const b = breaker(fetchUpstream, options)
    b.shutdown()
    expect(options).toEqual(copy)
  })
})

describe('slow calls', () => {
  it('opens on the slow-call rate even though every call succeeded', async () => {
    await setUpstream('ok', 120)
    const call = upstreamBreaker({ timeout: 1000, slowCallRate: 0.5 })
    for (let i = 0; i < 4; i++) expect(await call()).toBe('fresh')
    expect(call.state).toBe('open')
    expect(call.stats()).toMatchObject({ successes: 4, failures: 0, slow: 4, slowRate: 1 })
  })

  it('opens again when the half-open probe is slow, and returns its answer', async () => {
    await setUpstream('ok', 120)
    const call = upstreamBreaker({ timeout: 1000, slowCallRate: 0.5 })
    for (let i = 0; i < 4; i++) await call()
    await sleep(350)
    expect(await call()).toBe('fresh')
    expect(call.state).toBe('open')
  })
})

describe('which errors count', () => {
  it('does not open on errors isFailure rejects (a 404)', async () => {
    await setUpstream('missing')
    const call = upstreamBreaker({ isFailure: (err) => !(err instanceof HttpError && err.status < 500) })
    for (let i = 0; i < 6; i++) expect(await codeOf(call())).toBe('Error: upstream answered 404')
    expect(call.state).toBe('closed')
    expect(call.stats().failures).toBe(0)
  })

  it('counts an error as a failure when isFailure throws, and warns once', async () => {
    await setUpstream('fail')
    const warnings: string[] = []
    const call = upstreamBreaker({
      logger: { warn: (m: string) => void warnings.push(m), error: () => undefined },
      isFailure: () => {
        throw new Error('broken')
      },
    })
    for (let i = 0; i < 4; i++) await codeOf(call())
    expect(call.state).toBe('open')
    expect(warnings).toEqual([expect.stringContaining('ERR_HOTPATH_BREAKER_IS_FAILURE')])
  })
})

describe('reporting', () => {
  it('reports its state and counts in stats()', async () => {
    await setUpstream('fail')
    const call = upstreamBreaker()
    for (let i = 0; i < 5; i++) await codeOf(call())
    expect(call.stats()).toMatchObject({
      name: 'upstream',
      state: 'open',
      calls: 5,
      successes: 0,
      failures: 4,
      rejected: 1,
      failureRate: 1,
      shared: false,
    })
    expect(call.stats().openedAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/))
  })

  it("appears in its guard's stats().breakers", async () => {
    await setUpstream('ok')
    const guard = overload({ eventLoop: false })
    const call = guard.breaker(fetchUpstream, { name: 'catalog' })
    expect(await call()).toBe('fresh')
    expect(guard.stats().breakers).toEqual([
      expect.objectContaining({ name: 'catalog', state: 'closed', successes: 1 }),
    ])
    guard.close()
    expect(await codeOf(call())).toBe('ERR_HOTPATH_BREAKER_SHUTDOWN')
  })

  it('publishes state and calls on the registry, one label per breaker', async () => {
    await setUpstream('fail')
    const registry = new Registry()
    const a = upstreamBreaker({ name: 'a', registry })
    const b = upstreamBreaker({ name: 'b', registry })
    for (let i = 0; i < 4; i++) await codeOf(a())
    await codeOf(b())
    const text = await registry.metrics()
    expect(text).toContain('hotpath_breaker_state{name="a"} 2')
    expect(text).toContain('hotpath_breaker_state{name="b"} 0')
    expect(text).toContain('hotpath_breaker_calls_total{name="a",outcome="failure"} 4')
    expect(text).toContain('hotpath_breaker_calls_total{name="b",outcome="failure"} 1')
  })
})
