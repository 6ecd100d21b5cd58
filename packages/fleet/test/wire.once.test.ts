import { Float64Histogram } from 'hdr-histogram-js'
import { Merger } from '../src/codec'
import { Ranks } from '../src/rank'
import { atOrBelow, pairsOfRun } from '../src/runs'
import {
  encodeHistograms,
  parseSnapshot,
  SNAPSHOT_VERSION,
  type Snapshot,
  serializeSnapshot,
} from '../src/snapshot'
import { DecodeCache, mergeView } from '../src/view'
import { CorruptHistogram, decodeRoutes, encodeRoutes, type Run, STRIDE } from '../src/wire'

const layout = new Float64Histogram(1, 3_600_000_000, 3)

/** Sparse `[index, count, …]` of raw µs samples in the profiler's layout. */
function pairsOf(samples: readonly number[]): number[] {
  const counts = new Map<number, number>()
  for (const us of samples) {
    const i = layout.countsArrayIndex(us)
    counts.set(i, (counts.get(i) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => a[0] - b[0]).flat()
}

function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return (s + 1) / 2147483649
  }
}

function snapshot(id: string, at: number, routes: Array<{ r: string; samples: number[] }>): Snapshot {
  const meta = routes.map(({ r, samples }) => ({
    r,
    s: 60,
    c: samples.length,
    e: 0,
    sum: samples.reduce((a, b) => a + b, 0) / 1000,
    max: Math.max(...samples) / 1000,
    hi: 3_600_000_000,
    d: 3,
  }))
  return {
    v: SNAPSHOT_VERSION,
    id,
    at,
    intervalMs: 10_000,
    version: '1.0.0',
    runtime: { uptimeSeconds: 1, cpu: 0, rss: 1, heapUsed: 1, heapTotal: 1, eventLoopP99: 0 },
    routes: meta,
    statusRps: {},
    sources: {},
    blob: encodeHistograms(
      meta,
      routes.map(({ samples }) => pairsOf(samples)),
    ),
  }
}

describe('snapshot histograms on the wire', () => {
  it('round-trips every route of a blob with its exact counts', () => {
    const rnd = seeded(3)
    const routes = Array.from({ length: 20 }, (_, r) =>
      pairsOf(Array.from({ length: 500 + r * 300 }, () => Math.round(1000 * Math.exp(3 * rnd())))),
    )
    expect(decodeRoutes(encodeRoutes(routes)).map(pairsOfRun)).toEqual(routes)
  })

  it('round-trips routes of many checkpoints, escapes on both sides of them', () => {
    const rnd = seeded(9)
    const pairs: number[] = []
    let at = 0
    for (let k = 0; k < 20 * STRIDE + 17; k++) {
      at += 1 + (rnd() < 0.2 ? Math.floor(rnd() * 400) : 0)
      pairs.push(at, rnd() < 0.1 ? 1 + Math.floor(rnd() * 5000) : 1 + Math.floor(rnd() * 14))
    }
    const [run] = decodeRoutes(encodeRoutes([pairs, [1, 1]]))
    expect(pairsOfRun(run as Run)).toEqual(pairs)
    expect(run?.last).toBe(at)
  })

  it('counts the requests at or below any bucket as the sum of the counts up to it', () => {
    const rnd = seeded(21)
    const pairs = pairsOf(Array.from({ length: 20_000 }, () => Math.round(200 * Math.exp(6 * rnd()))))
    const [run] = decodeRoutes(encodeRoutes([pairs]))
    for (let k = 0; k < 300; k++) {
      const b = Math.floor(rnd() * ((pairs[pairs.length - 2] as number) + 10)) - 5
      let expected = 0
      for (let i = 0; i < pairs.length && (pairs[i] as number) <= b; i += 2)
        expected += pairs[i + 1] as number
      expect(atOrBelow(run as Run, b)).toBe(expected)
    }
  })

  it('ranks the union of runs to the same percentiles as summing their buckets', () => {
    const rnd = seeded(4)
    const layout3 = { highest: 3_600_000_000, digits: 3 }
    for (let trial = 0; trial < 20; trial++) {
      const parts = Array.from({ length: 1 + Math.floor(rnd() * 16) }, () => {
        const median = 500 + rnd() * 50_000
        const spread = 0.2 + rnd() * 2
        return pairsOf(
          Array.from({ length: 1 + Math.floor(rnd() * 5000) }, () => {
            const z = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd())
            return Math.max(1, Math.round(median * Math.exp(spread * z)))
          }),
        )
      })
      const runs = decodeRoutes(encodeRoutes(parts))
      const m = new Merger(layout3)
      for (const p of parts) m.add(p)
      const ps = [1, 50, 90, 95, 99, 99.9, 100]
      expect(new Ranks(layout3).percentiles(runs, ps, 1e9)).toEqual(m.percentiles(ps, 1e9))
      expect(new Ranks(layout3).countAbove(runs, 20)).toBe(m.countAbove(20))
    }
  })

  it('round-trips long gaps and large counts (the escaped nibbles)', () => {
    const pairs = [0, 1, 1, 15, 2, 16, 17, 17, 5000, 300, 5016, 1, 22000, 70_000]
    expect(pairsOfRun(decodeRoutes(encodeRoutes([pairs]))[0] as Run)).toEqual(pairs)
  })

  it('round-trips the largest index and count it accepts', () => {
    const pairs = [0x7ffffffe, Number.MAX_SAFE_INTEGER, 0x7fffffff, 2 ** 32 + 1]
    const [run] = decodeRoutes(encodeRoutes([pairs]))
    expect(pairsOfRun(run as Run)).toEqual(pairs)
    expect(run?.total).toBe(Number.MAX_SAFE_INTEGER + 2 ** 32 + 1)
  })

  it('round-trips an empty histogram beside full ones, and a snapshot with no routes', () => {
    const runs = decodeRoutes(encodeRoutes([[], [7, 2], []]))
    expect(runs.map((r) => [r.buckets, r.total])).toEqual([
      [0, 0],
      [1, 2],
      [0, 0],
    ])
    expect(decodeRoutes(encodeRoutes([]))).toEqual([])
  })

  it('refuses pairs it cannot carry when encoding (descending, zero or fractional counts)', () => {
    expect(() => encodeRoutes([[5, 1, 4, 1]])).toThrow(RangeError)
    expect(() => encodeRoutes([[5, 0]])).toThrow(RangeError)
    expect(() => encodeRoutes([[5, 1.5]])).toThrow(RangeError)
  })

  it('throws CorruptHistogram on bytes that are not a blob', () => {
    expect(() => decodeRoutes(Buffer.from('not deflate at all'))).toThrow(CorruptHistogram)
    expect(() => decodeRoutes(new Uint8Array(0))).toThrow(CorruptHistogram)
  })

  it('throws CorruptHistogram, never another error, on every truncation and on 500 random corruptions', () => {
    const rnd = seeded(11)
    const good = encodeRoutes([
      pairsOf(Array.from({ length: 3000 }, () => Math.round(500 + 50_000 * rnd()))),
      [3, 40],
    ])
    const outcomes = new Set<string>()
    const attempt = (bytes: Uint8Array) => {
      try {
        decodeRoutes(bytes)
        outcomes.add('decoded')
      } catch (err) {
        outcomes.add(err instanceof CorruptHistogram ? 'corrupt' : `other: ${String(err)}`)
      }
    }
    for (let cut = 0; cut < good.length; cut += 7) attempt(good.subarray(0, cut))
    for (let k = 0; k < 500; k++) {
      const bad = Buffer.from(good)
      for (let j = 0; j < 3; j++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256)
      attempt(bad)
    }
    expect([...outcomes].filter((o) => o.startsWith('other'))).toEqual([])
    expect(outcomes.has('corrupt')).toBe(true)
  })
})

describe('snapshot format', () => {
  const warnings: string[] = []
  const warn = (code: string) => {
    warnings.push(code)
  }
  beforeEach(() => {
    warnings.length = 0
  })

  it('reads back what it wrote, histograms included', () => {
    const s = snapshot('a', 1000, [{ r: 'GET /x', samples: [1000, 2000, 2000, 90_000] }])
    const back = parseSnapshot(serializeSnapshot(s), warn)
    expect(back?.routes).toEqual(s.routes)
    expect(pairsOfRun(decodeRoutes(back?.blob as Uint8Array)[0] as Run)).toEqual(
      pairsOf([1000, 2000, 2000, 90_000]),
    )
    expect(warnings).toEqual([])
  })

  it('leaves out a snapshot of format 1 (the JSON of an older release) with a coded warning', () => {
    const v1 = JSON.stringify({ v: 1, id: 'old', at: 1000, intervalMs: 10_000, routes: [] })
    expect(parseSnapshot(Buffer.from(v1), warn)).toBeNull()
    expect(warnings).toEqual(['ERR_HOTPATH_FLEET_SNAPSHOT_VERSION'])
  })

  it('leaves out a snapshot of format 2 (rolling minutes, which would count each request six times)', () => {
    const v2 = serializeSnapshot({ ...snapshot('old', 1000, []), v: 2 as never })
    expect(parseSnapshot(v2, warn)).toBeNull()
    expect(warnings).toEqual(['ERR_HOTPATH_FLEET_SNAPSHOT_VERSION'])
  })

  it('leaves out a snapshot of a later format with the same warning', () => {
    const s = serializeSnapshot({ ...snapshot('new', 1000, []), v: 4 as never })
    expect(parseSnapshot(s, warn)).toBeNull()
    expect(warnings).toEqual(['ERR_HOTPATH_FLEET_SNAPSHOT_VERSION'])
  })

  it('returns null for bytes that are not a snapshot, without throwing', () => {
    for (const raw of ['', '\n', 'garbage\nmore', '{"v":2}\n', '[]', 'null']) {
      expect(parseSnapshot(Buffer.from(raw), warn)).toBeNull()
    }
  })

  it('shows an instance whose histograms are corrupt with its routes left out, and warns', () => {
    const good = snapshot('a', 1000, [{ r: 'GET /x', samples: [1000, 2000] }])
    const bad = { ...snapshot('b', 1000, [{ r: 'GET /x', samples: [5000] }]), blob: Buffer.from('junk') }
    const codes: string[] = []
    const { view } = mergeView(
      'shop',
      'a',
      1000,
      ['a', 'b'],
      [good, bad],
      new DecodeCache((c) => codes.push(c)),
    )
    expect(view.coverage.fresh).toBe(2)
    expect(view.routes.map((r) => [r.route, r.count, r.instances])).toEqual([['GET /x', 2, 1]])
    expect(codes).toEqual(['ERR_HOTPATH_FLEET_CORRUPT_SNAPSHOT'])
  })

  it('merges three instances to the p50/p95/p99 of the union of their raw samples (within HDR precision)', () => {
    const rnd = seeded(5)
    const parts = [0.5, 1, 1.5].map((spread) =>
      Array.from({ length: 4000 }, () => {
        const z = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd())
        return Math.max(1, Math.round(5000 * spread * Math.exp(spread * z)))
      }),
    )
    const snaps = parts.map((samples, i) => snapshot(`i${i}`, 1000, [{ r: 'GET /x', samples }]))
    const { view } = mergeView('shop', 'i0', 1000, ['i0', 'i1', 'i2'], snaps)
    const union = parts.flat().sort((a, b) => a - b)
    const max = union[union.length - 1] as number
    const expected = [50, 95, 99].map((p) => {
      const us = union[Math.ceil((p / 100) * union.length) - 1] as number
      return Math.round((Math.min(layout.highestEquivalentValue(us), max) / 1000) * 1000) / 1000
    })
    const route = view.routes[0]
    expect([route?.p50, route?.p95, route?.p99]).toEqual(expected)
  })
})
