// What one write to an Express-style response costs, in isolation: `node bench/property-cost.mjs`.
// Each response is built as Express 5 builds it (a ServerResponse, `setPrototypeOf` to an app
// prototype, then `res.locals`), then one variant runs. Rounds alternate the variants; the table
// gives the median extra nanoseconds per response over the bare construction.
import http from 'node:http'
import { median } from './stats.mjs'

const appResponse = Object.create(http.ServerResponse.prototype, { app: { value: {} } })
const appRequest = Object.create(http.IncomingMessage.prototype, { app: { value: {} } })
const mark = Symbol('mark')
function hook() {}
const set = new WeakSet()
const map = new WeakMap()

const variants = {
  'nothing more (baseline)': () => {},
  'one Symbol property on res': (res) => {
    res[mark] = 1
  },
  'res.end = hook': (res) => {
    res.end = hook
  },
  'Symbol + end + writeHead on res': (res) => {
    res[mark] = 1
    res.end = hook
    res.writeHead = hook
  },
  'rewrite an existing own property': (res) => {
    res.statusMessage = 'OK'
  },
  'WeakSet.add(res)': (res) => {
    set.add(res)
  },
  'WeakMap.set(res, state)': (res) => {
    map.set(res, { done: false })
  },
}

function build() {
  const req = new http.IncomingMessage(null)
  req.method = 'GET'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  const res = new http.ServerResponse(req)
  req.res = res
  res.req = req
  Object.setPrototypeOf(req, appRequest)
  Object.setPrototypeOf(res, appResponse)
  res.locals = res.locals || Object.create(null)
  return res
}

const N = 50_000
const ROUNDS = 7
const samples = new Map(Object.keys(variants).map((name) => [name, []]))
for (let round = 0; round < ROUNDS + 2; round++) {
  for (const [name, variant] of Object.entries(variants)) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < N; i++) variant(build())
    const ns = Number(process.hrtime.bigint() - started) / N
    if (round >= 2) samples.get(name).push(ns)
  }
}
const base = median(samples.get('nothing more (baseline)'))
console.log('| per response | ns (median) | extra ns |\n|---|---|---|')
for (const [name, values] of samples) {
  const ns = median(values)
  console.log(`| ${name} | ${ns.toFixed(0)} | ${(ns - base).toFixed(0)} |`)
}
