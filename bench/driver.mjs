// One request through a listener without sockets or a load generator, as Node's server would
// run it: a loopback peer address, a discarding socket, the socket detached at 'finish' and
// 'close' emitted on the next tick. Shared by servers/compression-cpu.mjs and the scenarios that drive servers in-process.
import http from 'node:http'
import net from 'node:net'
import { Duplex } from 'node:stream'

/** A socket whose peer address is loopback, as the limiter and the logs see it on the bench. */
class LoopbackSocket extends net.Socket {
  get remoteAddress() {
    return '127.0.0.1'
  }
}
const incoming = new LoopbackSocket()

function discardingSocket() {
  const socket = new Duplex({
    write(_chunk, _encoding, done) {
      done()
    },
    writev(_chunks, done) {
      done()
    },
    read() {},
  })
  socket.writable = true
  return socket
}

let sequence = 0

/** Resolves the response's status once it has closed. `request`: { method?, path, headers?, idReplacement? } */
export function serveOnce(listener, request) {
  return new Promise((resolve) => {
    const req = new http.IncomingMessage(incoming)
    req.method = request.method ?? 'GET'
    // autocannon's idReplacement: a fresh id per request (a unique URL, for a cache miss).
    req.url = request.idReplacement ? request.path.replace('[<id>]', String(++sequence)) : request.path
    req.httpVersionMajor = 1
    req.httpVersionMinor = 1
    req.headers = { host: '127.0.0.1', ...(request.headers ?? {}) }
    req.complete = true
    req.push(null)
    const res = new http.ServerResponse(req)
    res.assignSocket(discardingSocket())
    // As Node's server does: detach the socket at 'finish', emit 'close' on the next tick.
    res.on('finish', () => {
      res.detachSocket(res.socket)
      process.nextTick(() => {
        res._closed = true
        res.emit('close')
        resolve(res.statusCode)
      })
    })
    listener(req, res)
  })
}
