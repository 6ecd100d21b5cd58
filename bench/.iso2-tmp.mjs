import http from 'node:http'
import net from 'node:net'
import express from 'express'
const app = express()
const proto = app.response
const sock = new net.Socket()
function w(){} function e(){} function h(){}
function variant(name, setProto, fn) {
  let best = Infinity
  for (let round = 0; round < 8; round++) {
    const N = 20000
    const t = process.cpuUsage()
    for (let i = 0; i < N; i++) {
      const req = new http.IncomingMessage(sock)
      const res = new http.ServerResponse(req)
      if (setProto) Object.setPrototypeOf(res, proto)
      fn(res, req)
    }
    const u = process.cpuUsage(t); best = Math.min(best, (u.user + u.system) / N)
  }
  console.log(name.padEnd(12), setProto, best.toFixed(2), 'µs')
}
class Plain { constructor() { for (let i = 0; i < 32; i++) this['p' + i] = i } }
variant('none', false, () => {})
variant('three', false, (r) => { r.write = w; r.end = e; r.writeHead = h })
variant('none', true, () => {})
variant('three', true, (r) => { r.write = w; r.end = e; r.writeHead = h })
variant('x3', true, (r) => { r.x1 = w; r.x2 = e; r.x3 = h })
variant('x3num', true, (r) => { r.x1 = 1; r.x2 = 2; r.x3 = 3 })
