// Express serving the shared payloads behind a compression middleware:
// `impl: 'hotpath'` (@hotpath/compression) or `impl: 'compression'` (the npm package),
// both with the same threshold, gzip level and Brotli quality so the work is identical.
import { compression } from '@hotpath/compression'
import compressionPackage from 'compression'
import express from 'express'
import { json1k, json100k, jsonSmall } from '../payload.mjs'

export const THRESHOLD = 500

export function middleware(impl, options = {}) {
  if (impl === 'hotpath') return compression({ threshold: THRESHOLD, ...options })
  if (impl === 'compression') return compressionPackage({ threshold: THRESHOLD })
  throw new Error(`compression.mjs: unknown impl ${JSON.stringify(impl)}`)
}

/** The payload routes behind `mw`: /json (1 KB), /json100k, /small (below the threshold). */
export function payloadApp(mw) {
  const app = express()
  app.use(mw)
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  app.get('/json100k', (_req, res) => {
    res.json(json100k)
  })
  app.get('/small', (_req, res) => {
    res.json(jsonSmall)
  })
  return app
}

export default function server(options = {}) {
  return payloadApp(middleware(options.impl ?? 'hotpath', options.hotpath))
}
