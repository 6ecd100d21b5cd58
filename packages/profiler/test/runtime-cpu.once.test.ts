import { profiler } from '../src'

describe('runtime numbers in the overview', () => {
  it('reports CPU utilisation over the last sample interval and CPU time since start', async () => {
    const prof = profiler({ registry: false, sampleInterval: '100ms' })
    const until = Date.now() + 250
    // Keep a core busy across two sample intervals.
    while (Date.now() < until) Math.sqrt(Math.random())
    await new Promise((resolve) => setTimeout(resolve, 120))
    const cpu = prof.overview().cpu
    prof.close?.()
    expect(cpu?.utilization).toBeGreaterThan(0)
    expect(cpu?.userMs).toBeGreaterThan(0)
    expect(typeof cpu?.systemMs).toBe('number')
  })
})
