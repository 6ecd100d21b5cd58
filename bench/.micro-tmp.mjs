import express from 'express'
import compressionPackage from 'compression'
import { compression } from '@hotpath/compression'
import { json1k, jsonSmall, json100k } from '/work/main/bench/payload.mjs'
import { run } from '/tmp/cbench/harness.mjs'
function app(mw) {
  const a = express()
  a.use(mw)
  a.get('/json', (_q, r) => r.json(json1k))
  a.get('/small', (_q, r) => r.json(jsonSmall))
  a.get('/json100k', (_q, r) => r.json(json100k))
  return a
}
const apps = {
  noop: app((_q, _r, n) => n()),
  compression: app(compressionPackage({ threshold: 500 })),
  hotpath: app(compression({ threshold: 500 })),
}
await run(apps, process.argv[2] ?? '/small', process.argv[3], Number(process.argv[4] ?? 10), Number(process.argv[5] ?? 4000))
