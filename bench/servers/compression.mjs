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

export default function server(options = {}) {
  const app = express()
  app.use(middleware(options.impl ?? 'hotpath', options.hotpath))
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
