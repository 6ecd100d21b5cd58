import http from 'node:http'
import net from 'node:net'
import express from 'express'
const app = express()
const proto = app.response
const sock = new net.Socket()
const K = Symbol('k')
function w(){} function e(){} function h(){}
function variant(name, fn) {
  let best = Infinity
  for (let round = 0; round < 8; round++) {
    const N = 20000
    const t = process.cpuUsage()
    for (let i = 0; i < N; i++) {
      const req = new http.IncomingMessage(sock)
      const res = new http.ServerResponse(req)
      Object.setPrototypeOf(res, proto); res.req = req; res.locals = {}
      fn(res, req)
    }
    const u = process.cpuUsage(t); best = Math.min(best, (u.user + u.system) / N)
  }
  console.log(name.padEnd(12), best.toFixed(2), 'µs')
}
variant('none', () => {})
variant('state', (r, q) => { r[K] = { q, a: r.write, b: r.end, c: r.writeHead, d: false, n: 0 } })
variant('three', (r) => { r.write = w; r.end = e; r.writeHead = h })
variant('all', (r, q) => { r[K] = { q, a: r.write, b: r.end, c: r.writeHead, d: false, n: 0 }; r.write = w; r.end = e; r.writeHead = h })
variant('none', () => {})
