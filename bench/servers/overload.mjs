// The overload scenario's app: GET /work costs `cpuMs` of CPU plus a wait on a shared resource
// (a database with `poolSize` workers, each request `serviceMs` of its time): past `poolSize`
// requests at once, the resource is shared among them (processor sharing), so each one's wait
// grows with the requests running at once while the throughput stays at poolSize / serviceMs.
// It answers a 1 KB JSON body.
// `protect`: 'none' (plain Express), 'threshold' (an under-pressure-style fixed threshold:
// every request refused with 503 while the sampled event-loop utilisation or delay is above
// its limit, as @fastify/under-pressure does), or 'overload' (@hotpath/overload, defaults).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import express from 'express'
import { json1k } from '../payload.mjs'

async function loadOverload() {
  try {
    return await import('@hotpath/overload')
  } catch {
    // Before the workspace link exists (a fresh checkout not yet installed), the built package.
    return import(new URL('../../packages/overload/dist/index.js', import.meta.url).href)
  }
}

/** under-pressure's rule: sample every `sampleMs`; above either limit, refuse everything. */
function fixedThreshold({ maxUtilization = 0.98, maxDelayMs = 100, sampleMs = 1000 } = {}) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  let last = performance.eventLoopUtilization()
  let overloaded = false
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const elu = performance.eventLoopUtilization(now, last).utilization
    last = now
    const delay = Math.max(0, histogram.mean / 1e6 - 10)
    histogram.reset()
    overloaded = elu > maxUtilization || delay > maxDelayMs
  }, sampleMs)
  timer.unref()
  const middleware = (_req, res, next) => {
    if (!overloaded) return next()
    res.writeHead(503, { 'Retry-After': '10', 'Content-Type': 'text/plain' })
    res.end('Service Unavailable')
  }
  return { middleware, close: () => clearInterval(timer) }
}

export default async function server(options = {}) {
  const cpuMs = options.cpuMs ?? 0.2
  const serviceMs = options.serviceMs ?? 5
  const poolSize = options.poolSize ?? 8
  const app = express()
  let close
  if (options.protect === 'threshold') {
    const guard = fixedThreshold(options.threshold)
    app.use(guard.middleware)
    close = guard.close
  } else if (options.protect === 'overload') {
    const { overload } = await loadOverload()
    const guard = overload(options.overload ?? {})
    // Read by the scenario between loads (refusals by reason, limit, minRTT); not behind the guard.
    app.get('/__overload', (_req, res) => {
      res.json(guard.stats())
    })
    app.use(guard)
    close = () => guard.close()
  }
  let active = 0
  app.get('/work', (_req, res) => {
    active++
    const end = performance.now() + cpuMs
    while (performance.now() < end) {}
    setTimeout(
      () => {
        active--
        res.json(json1k)
      },
      serviceMs * Math.max(1, active / poolSize),
    )
  })
  return { listener: app, close }
}
