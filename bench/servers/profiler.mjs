// The 1 KB JSON route behind @hotpath/profiler with its defaults (own prom-client registry,
// event-loop sampling on). Options: `serverTiming: 1` sends Server-Timing, `eventLoop: 0` turns
// event-loop sampling off, `metrics: 0` registers no Prometheus metrics.
import { profiler } from '@hotpath/profiler'
import express from 'express'
import { json1k } from '../payload.mjs'

export default function server(options = {}) {
  const prof = profiler({
    serverTiming: Boolean(options.serverTiming),
    eventLoop: options.eventLoop !== 0,
    ...(options.metrics === 0 ? { registry: false } : {}),
  })
  const app = express()
  app.use(prof)
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return { listener: app, close: () => prof.close() }
}
