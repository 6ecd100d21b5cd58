// The 1 KB JSON route behind @hotpath/profiler with its defaults (own prom-client registry,
// event-loop sampling on). `serverTiming: 1` also sends the Server-Timing header.
import { profiler } from '@hotpath/profiler'
import express from 'express'
import { json1k } from '../payload.mjs'

export default function server(options = {}) {
  const prof = profiler({ serverTiming: Boolean(options.serverTiming) })
  const app = express()
  app.use(prof)
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return { listener: app, close: () => prof.close() }
}
