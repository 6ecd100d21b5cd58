import { startLoopDelayProbe } from '../src/loop-delay'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function block(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // Busy-wait: no timer runs meanwhile.
  }
}

describe('startLoopDelayProbe', () => {
  it('records a stall as the probe tick that came late, and a reset right after keeps nothing lost', async () => {
    const probe = startLoopDelayProbe()
    try {
      await sleep(50)
      block(120)
      // A reader resetting now, before the probe's late tick ran, must not lose the stall.
      probe.histogram.reset()
      await sleep(30)
      expect(probe.histogram.max / 1e6).toBeGreaterThanOrEqual(100)
    } finally {
      probe.close()
    }
  })

  it('stops recording once closed', async () => {
    const probe = startLoopDelayProbe()
    probe.close()
    await sleep(40)
    expect(probe.histogram.count).toBe(0)
  })
})
