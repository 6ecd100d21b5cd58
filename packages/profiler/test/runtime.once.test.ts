import { closeAll, make, until } from './helpers'

afterEach(closeAll)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function block(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // Busy-wait: the event loop cannot run timers meanwhile.
  }
}

describe('runtime sampling', () => {
  it('reports process memory in the overview', () => {
    const { memory } = make().overview()
    expect(memory.rss).toBeGreaterThan(memory.heapUsed)
    expect(memory.heapTotal).toBeGreaterThanOrEqual(memory.heapUsed)
    expect(memory.external).toBeGreaterThanOrEqual(0)
  })

  it('samples memory on its interval and stops after close()', async () => {
    const prof = make({ sampleInterval: 100 })
    const first = prof.overview().memory
    await until(() => prof.overview().memory !== first, 3000)
    const second = prof.overview().memory
    prof.close()
    await sleep(250)
    expect(prof.overview().memory).toBe(second)
  })

  it('reports a blocked event loop and raises the event-loop insight', async () => {
    const prof = make({ sampleInterval: 100 })
    await sleep(120)
    block(150)
    await until(() => prof.overview().eventLoop.max >= 100, 3000)
    const loop = prof.overview().eventLoop
    expect(loop.max).toBeGreaterThanOrEqual(100)
    expect(loop.p99).toBeGreaterThanOrEqual(100)
    const insight = prof.insights().find((i) => i.id === 'event-loop-delay')
    const p99 = insight?.evidence.p99 as number
    expect(p99).toBeGreaterThanOrEqual(100)
    expect(insight?.severity).toBe(p99 >= 500 ? 'critical' : 'warning')
  })

  it('records a stall whatever its phase against the sample timer', async () => {
    // A stall ending just before, at or after a sample must each show: none may be cleared by
    // the sample's reset before it was recorded.
    for (const offset of [0, 15, 30, 45, 60, 75, 90]) {
      const prof = make({ sampleInterval: 100 })
      await sleep(100 + offset)
      block(120)
      await until(() => prof.overview().eventLoop.max >= 100, 2000)
      expect(prof.overview().eventLoop.max).toBeGreaterThanOrEqual(100)
      prof.close()
    }
  })

  it('reports zero event-loop delay with eventLoop: false', async () => {
    const prof = make({ sampleInterval: 100, eventLoop: false })
    block(50)
    await sleep(150)
    expect(prof.overview().eventLoop).toEqual({ mean: 0, p50: 0, p99: 0, max: 0 })
  })

  it('lets close() be called twice', () => {
    const prof = make()
    prof.close()
    expect(() => prof.close()).not.toThrow()
  })
})

describe('overview', () => {
  it('reports when it started and for how long it has run', () => {
    const overview = make().overview()
    expect(Date.now() - Date.parse(overview.startedAt)).toBeLessThan(5000)
    expect(overview.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(Object.keys(overview.windows)).toEqual(['1m', '5m', '1h', 'all'])
  })
})
