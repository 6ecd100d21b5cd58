// The 1 KB JSON route behind @hotpath/cache-control with the example app's API policy.
import { cacheControl } from '@hotpath/cache-control'
import express from 'express'
import { json1k } from '../payload.mjs'

export default function server() {
  const app = express()
  app.use(cacheControl({ rules: [{ match: '/json', preset: 'api', maxAge: '5m' }] }))
  app.get('/json', (_req, res) => {
    res.json(json1k)
  })
  return app
}
