import type { RecordableHistogram } from 'node:perf_hooks'
import { type LoopDelayProbe, type ProfilerOverview, startLoopDelayProbe } from '@hotpath/core'

type EventLoop = ProfilerOverview['eventLoop']
type Memory = ProfilerOverview['memory']
type Cpu = NonNullable<ProfilerOverview['cpu']>

export interface RuntimeSampler {
  eventLoop(): EventLoop
  memory(): Memory
  cpu(): Cpu
  close(): void
}

/** Event-loop delay is reported over the last minute of sample intervals. */
const LOOP_HISTORY_MS = 60_000

/**
 * Event-loop delay and memory, sampled on one `unref()`'d interval so an idle process can exit.
 * The delay histogram is read and reset every interval and the readings of the last minute are
 * kept: the overview shows the worst p99/max of that minute, not a lifetime average that hides
 * a spike, nor only the last few seconds that a spike has already left.
 * The delay is core's probe (see `startLoopDelayProbe` for why not `monitorEventLoopDelay`).
 */
export function startRuntimeSampler(intervalMs: number, eventLoop: boolean): RuntimeSampler {
  const probe: LoopDelayProbe | null = eventLoop ? startLoopDelayProbe() : null
  const monitor: RecordableHistogram | null = probe?.histogram ?? null
  const capacity = Math.max(1, Math.ceil(LOOP_HISTORY_MS / intervalMs))
  const history: EventLoop[] = []
  let next = 0
  let lastMemory = readMemory()
  // CPU over the last interval, from process.cpuUsage() deltas (the same sample timer).
  let lastUsage = process.cpuUsage()
  let lastAt = performance.now()
  let lastCpu: Cpu = { utilization: 0, userMs: lastUsage.user / 1000, systemMs: lastUsage.system / 1000 }
  const timer = setInterval(() => {
    lastMemory = readMemory()
    const usage = process.cpuUsage()
    const at = performance.now()
    const busyMs = (usage.user - lastUsage.user + usage.system - lastUsage.system) / 1000
    lastCpu = {
      utilization: at > lastAt ? Math.round((busyMs / (at - lastAt)) * 1000) / 1000 : 0,
      userMs: Math.round(usage.user / 1000),
      systemMs: Math.round(usage.system / 1000),
    }
    lastUsage = usage
    lastAt = at
    if (monitor === null || monitor.count === 0) return
    const reading = readLoop(monitor)
    monitor.reset()
    if (history.length < capacity) history.push(reading)
    else history[next] = reading
    next = (next + 1) % capacity
  }, intervalMs)
  timer.unref()
  return {
    eventLoop() {
      // The interval under way counts too: a stall in it shows before the next sample.
      const live = monitor !== null && monitor.count > 0 ? [readLoop(monitor)] : []
      return combine(history.length > 0 ? [...history, ...live] : live)
    },
    memory: () => lastMemory,
    cpu: () => lastCpu,
    close() {
      clearInterval(timer)
      probe?.close()
    },
  }
}

function combine(readings: readonly EventLoop[]): EventLoop {
  if (readings.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0 }
  let mean = 0
  let p99 = 0
  let max = 0
  const p50s: number[] = []
  for (const r of readings) {
    mean += r.mean
    p50s.push(r.p50)
    if (r.p99 > p99) p99 = r.p99
    if (r.max > max) max = r.max
  }
  p50s.sort((a, b) => a - b)
  return { mean: ms3(mean / readings.length), p50: p50s[p50s.length >> 1] as number, p99, max }
}

function readLoop(h: RecordableHistogram): EventLoop {
  return {
    mean: ms3(h.mean / 1e6),
    p50: ms3(h.percentile(50) / 1e6),
    p99: ms3(h.percentile(99) / 1e6),
    max: ms3(h.max / 1e6),
  }
}

function ms3(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function readMemory(): Memory {
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }
}
