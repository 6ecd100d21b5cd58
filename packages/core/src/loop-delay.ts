import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** Period of the delay probe: a turn of the event loop longer than this shows as delay. */
const LOOP_PROBE_MS = 10

export interface LoopDelayProbe {
  /** Nanoseconds each tick of the probe came late; read, then `reset()`, by its owner. */
  readonly histogram: RecordableHistogram
  close(): void
}

/**
 * Event-loop delay, as the lateness of an `unref()`'d 10 ms timer recorded into a native HDR
 * histogram. Not `monitorEventLoopDelay`: resetting that monitor also forgets its last tick, so a
 * stall that ended just before a reset, whose delay the monitor had not recorded yet, was lost
 * whenever the reader's timer ran first (one sample interval in ten, measured). This probe keeps
 * its own last tick, so a reset only clears what was already read.
 */
export function startLoopDelayProbe(): LoopDelayProbe {
  const histogram = createHistogram()
  let lastTick = performance.now()
  const timer = setInterval(() => {
    const at = performance.now()
    // An HDR histogram records values of 1 and more.
    histogram.record(Math.max(1, Math.round((at - lastTick - LOOP_PROBE_MS) * 1e6)))
    lastTick = at
  }, LOOP_PROBE_MS)
  timer.unref()
  return { histogram, close: () => clearInterval(timer) }
}
