// The 1 KB JSON route behind one of the profiler's peers, mounted as their READMEs show:
// `peer: 'prom-bundle'` (express-prom-bundle, method + path labels, its own registry),
// `'swagger-stats'` (getMiddleware with defaults) or `'response-time'` (X-Response-Time only).
import express from 'express'
import { json1k } from '../payload.mjs'

export default async function server(options = {}) {
  const app = express()
  app.use(await peer(options.peer))
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return app
}

async function peer(name) {
  if (name === 'prom-bundle') {
    const { default: promBundle } = await import('express-prom-bundle')
    const { Registry } = await import('prom-client')
    return promBundle({
      includeMethod: true,
      includePath: true,
      includeStatusCode: true,
      promRegistry: new Registry(),
    })
  }
  if (name === 'swagger-stats') {
    const { default: swStats } = await import('swagger-stats')
    return swStats.getMiddleware({})
  }
  if (name === 'response-time') {
    const { default: responseTime } = await import('response-time')
    return responseTime()
  }
  throw new Error(`unknown peer ${name}`)
}
