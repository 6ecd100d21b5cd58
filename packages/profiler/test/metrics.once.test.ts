import { execFileSync } from 'node:child_process'
import { register as globalRegistry, Registry } from 'prom-client'
import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

const DURATION = 'http_server_request_duration_seconds'

/** Exposition text of a profiler that saw a spread of routes, methods, statuses and delays. */
async function scrape(): Promise<string> {
  const clock = fakeClock()
  const registry = new Registry()
  const prof = make({ clock, registry, slowThreshold: '100ms' })
  const delays = [0.2, 3, 7, 20, 60, 120, 300, 800, 2000, 12_000]
  for (let i = 0; i < 200; i++) {
    const delay = delays[i % delays.length] as number
    recordDirect(prof, clock, matched('GET', '/api/products/:id'), delay, i % 17 === 0 ? 500 : 200)
    recordDirect(prof, clock, matched('POST', '/login'), delay / 2, i % 3 === 0 ? 401 : 200)
  }
  recordDirect(prof, clock, { method: 'GET', baseUrl: '' }, 1, 404)
  recordDirect(prof, clock, matched('GET', '/say/"quoted"\\path'), 1)
  return registry.metrics()
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(?:,|$)/y

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text)
    if (!m) throw new Error(`bad label set: ${text}`)
    labels[m[1] as string] = (m[2] as string).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

/** Parses the Prometheus text format (0.0.4) strictly; throws on anything it does not recognise. */
function parse(text: string): { help: Map<string, string>; type: Map<string, string>; samples: Sample[] } {
  const help = new Map<string, string>()
  const type = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line)
    if (meta) {
      const into = meta[1] === 'HELP' ? help : type
      if (into.has(meta[2] as string)) throw new Error(`duplicate ${meta[1]} for ${meta[2]}`)
      into.set(meta[2] as string, meta[3] as string)
      continue
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`unparseable line: ${line}`)
    const value = m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3])
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`)
    samples.push({ name: m[1] as string, labels: parseLabels(m[2] ?? ''), value })
  }
  return { help, type, samples }
}

const seriesKey = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le'))

describe('Prometheus exposition', () => {
  it('gives every metric a HELP and a TYPE line before its samples', async () => {
    const { help, type, samples } = parse(await scrape())
    expect(type.get(DURATION)).toBe('histogram')
    for (const s of samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '')
      const base = type.has(s.name) ? s.name : family
      expect(type.has(base)).toBe(true)
      expect(help.has(base)).toBe(true)
    }
  })

  it('labels the duration histogram with route, method and status_class', async () => {
    const { samples } = parse(await scrape())
    const counts = samples.filter((s) => s.name === `${DURATION}_count`).map((s) => s.labels)
    expect(counts).toContainEqual({ route: 'GET /api/products/:id', method: 'GET', status_class: '5xx' })
    expect(counts).toContainEqual({ route: 'POST /login', method: 'POST', status_class: '4xx' })
    expect(counts).toContainEqual({ route: 'unmatched', method: 'GET', status_class: '4xx' })
    expect(counts).toContainEqual({ route: 'GET /say/"quoted"\\path', method: 'GET', status_class: '2xx' })
  })

  it('has cumulative, non-decreasing buckets ending in +Inf equal to _count, and a matching _sum', async () => {
    const { samples } = parse(await scrape())
    const buckets = new Map<string, Array<[number, number]>>()
    for (const s of samples.filter((x) => x.name === `${DURATION}_bucket`)) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
      const key = seriesKey(s.labels)
      buckets.set(key, [...(buckets.get(key) ?? []), [le, s.value]])
    }
    const counts = new Map(
      samples.filter((s) => s.name === `${DURATION}_count`).map((s) => [seriesKey(s.labels), s.value]),
    )
    const sums = new Map(
      samples.filter((s) => s.name === `${DURATION}_sum`).map((s) => [seriesKey(s.labels), s.value]),
    )
    expect(buckets.size).toBe(6)
    for (const [key, list] of buckets) {
      for (let i = 1; i < list.length; i++) {
        expect((list[i] as [number, number])[0]).toBeGreaterThan((list[i - 1] as [number, number])[0])
        expect((list[i] as [number, number])[1]).toBeGreaterThanOrEqual((list[i - 1] as [number, number])[1])
      }
      const last = list[list.length - 1] as [number, number]
      expect(last[0]).toBe(Number.POSITIVE_INFINITY)
      expect(last[1]).toBe(counts.get(key))
      expect(sums.get(key)).toBeGreaterThan(0)
    }
  })

  it('puts each request in the bucket of its duration', async () => {
    const { samples } = parse(await scrape())
    const of = (le: string) =>
      samples.find(
        (s) =>
          s.name === `${DURATION}_bucket` &&
          s.labels.route === 'POST /login' &&
          s.labels.status_class === '2xx' &&
          s.labels.le === le,
      )?.value
    // POST /login took delay/2: 0.1, 1.5, 3.5, 10, 30, 60, 150, 400, 1000, 6000 ms, 2xx for 2 of 3.
    let upTo5ms = 0
    for (let i = 0; i < 200; i++) if (i % 3 !== 0 && i % 10 < 3) upTo5ms++
    expect(of('+Inf')).toBe(133)
    expect(of('0.005')).toBe(upTo5ms)
    expect(of('0.01')).toBe(upTo5ms + 13)
    expect(of('10')).toBe(133)
  })

  it('counts requests by outcome', async () => {
    const { samples } = parse(await scrape())
    const finished = samples.filter((s) => s.name === 'hotpath_profiler_requests_total')
    expect(finished.reduce((n, s) => n + s.value, 0)).toBe(402)
  })

  it('is accepted by promtool check metrics', async () => {
    const text = await scrape()
    let promtool = true
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' })
    } catch {
      promtool = false
    }
    if (!promtool) {
      // CI installs promtool (.ci/run); elsewhere the strict parse above is the check.
      if (process.env.CI === 'true')
        throw new Error('promtool is required under CI=true (apt-get install prometheus)')
      console.warn('promtool not installed: exposition checked by the parser tests only')
      return
    }
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(out).toBe('')
  })
})

describe('registration', () => {
  it('registers on a registry of its own by default, never the global one', () => {
    const before = globalRegistry.getMetricsAsArray().length
    const prof = make({ registry: undefined })
    expect(prof.registry).toBeInstanceOf(Registry)
    expect(prof.registry).not.toBe(globalRegistry)
    expect(globalRegistry.getMetricsAsArray().length).toBe(before)
  })

  it('registers on the given registry', async () => {
    const registry = new Registry()
    make({ registry })
    expect(registry.getSingleMetric(DURATION)).toBeDefined()
  })

  it('registers nothing with registry: false', () => {
    expect(make({ registry: false }).registry).toBeUndefined()
  })

  it('refuses a second profiler on the same registry with a coded error', () => {
    const registry = new Registry()
    make({ registry })
    expect(() => make({ registry })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_PROFILER_METRIC_EXISTS' }),
    )
  })

  it('unregisters its metrics on close()', () => {
    const registry = new Registry()
    const prof = make({ registry })
    prof.close()
    expect(registry.getMetricsAsArray()).toEqual([])
    expect(() => make({ registry })).not.toThrow()
  })
})
