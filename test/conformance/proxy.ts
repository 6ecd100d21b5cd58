/**
 * A reverse proxy with the response cache in front of it: the shared-cache setup the
 * conformance suite measures. The proxy part is http-proxy-middleware; this file adds
 * what RFC 9110 asks of any intermediary that the package leaves to its user.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ResponseCache } from '@hotpath/response-cache'
import { createProxyMiddleware } from 'http-proxy-middleware'
import { express } from '../helpers/express'

/** RFC 9110 §7.6.1: fields that describe one connection, never forwarded. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

/** The hop-by-hop fields of a message: the fixed ones and those its `Connection` lists. */
export function hopByHop(connection: string | string[] | undefined): string[] {
  const listed = connection === undefined ? '' : Array.isArray(connection) ? connection.join(',') : connection
  const names = [...HOP_BY_HOP]
  for (const part of listed.split(',')) {
    const name = part.trim().toLowerCase()
    if (name !== '' && !names.includes(name)) names.push(name)
  }
  return names
}

export interface CacheProxy {
  readonly url: string
  close(): Promise<void>
}

/**
 * Starts `cache` in front of a proxy to `origin`, as Express middleware (`middleware`) or
 * through `cache.front(app)` as well (`front`), on a free loopback port.
 */
export async function startProxy(
  cache: ResponseCache,
  origin: string,
  mode: 'middleware' | 'front',
): Promise<CacheProxy> {
  // One agent that keeps connections: the suite sends a few thousand requests.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const proxy = createProxyMiddleware({
    target: origin,
    agent,
    // The suite's origin builds its answers from the request's own Host-free path.
    changeOrigin: false,
    proxyTimeout: 15_000,
    on: {
      proxyReq(proxyReq, req, res) {
        // Node's agent writes its own Connection for the upstream hop.
        for (const name of hopByHop(req.headers.connection)) proxyReq.removeHeader(name)
        // RFC 9110 §15.2: interim responses are relayed (1xx other than 101).
        proxyReq.on('information', (info: http.InformationEvent) => {
          if (res.headersSent || !('writeEarlyHints' in res)) return
          const out = res as http.ServerResponse
          if (info.statusCode === 102) out.writeProcessing()
          else if (info.statusCode === 103) {
            const hints: Record<string, string | string[]> = {}
            for (const [name, value] of Object.entries(info.headers)) {
              if (value !== undefined) hints[name] = value
            }
            out.writeEarlyHints(hints)
          }
        })
      },
      proxyRes(proxyRes) {
        for (const name of hopByHop(proxyRes.headers.connection)) delete proxyRes.headers[name]
      },
      error(_error, _req, res) {
        const out = res as http.ServerResponse
        if (typeof out.writeHead !== 'function' || out.headersSent) {
          out.destroy?.()
          return
        }
        out.writeHead(502, { 'content-type': 'text/plain' })
        out.end('bad gateway')
      },
    },
  })
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.use(cache)
  app.use(proxy)
  const listener = mode === 'front' ? cache.front(app) : app
  const server = http.createServer(listener as http.RequestListener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
