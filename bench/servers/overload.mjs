// The overload scenario's app: GET /work costs `cpuMs` of CPU plus a wait on a shared resource
// (a database with `poolSize` workers, each request `serviceMs` of its time): past `poolSize`
// requests at once, the resource is shared among them (processor sharing), so each one's wait
// grows with the requests running at once while the throughput stays at poolSize / serviceMs
// (4 / 10 ms = 400/s by default). It answers a 1 KB JSON body.
// The capacity is the pool's, not the CPU's, as in the apps overload protection is for (bounded
// by a database pool or an upstream they wait on): at 3× the pool's capacity, this app's CPU is
// about half busy, refusals included. An app whose own CPU is the bottleneck at 3× cannot be
// saved by any middleware: each refusal is still a parsed request through Node and Express.
// `protect`: 'none' (plain Express), 'threshold' (an under-pressure-style fixed threshold:
// every request refused with 503 while the sampled event-loop utilisation or delay is above
// its limit, as @fastify/under-pressure does), or 'overload' (@hotpath/overload, defaults).
// GET /__stats (the same route ahead of the guard in all three, so each pays the same layer)
// answers the requests in the handler and, for 'overload', the guard's stats().
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
  const serviceMs = options.serviceMs ?? 10
  const poolSize = options.poolSize ?? 4
  const app = express()
  let close
  let guard
  let active = 0
  app.get('/__stats', (_req, res) => {
    res.json({ active, overload: guard ? guard.stats() : null })
  })
  if (options.protect === 'threshold') {
    const threshold = fixedThreshold(options.threshold)
    app.use(threshold.middleware)
    close = threshold.close
  } else if (options.protect === 'overload') {
    const { overload } = await loadOverload()
    guard = overload(options.overload ?? {})
    app.use(guard)
    close = () => guard.close()
  }
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
