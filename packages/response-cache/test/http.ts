import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  text: string
}

export interface Served {
  url: string
  port: number
  get(path: string, headers?: Record<string, string>): Promise<Reply>
  request(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<Reply>
  close(): Promise<void>
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })

/** Raw HTTP (no decompression, no redirects) so tests see the exact bytes and headers. */
export function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const all = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export async function serve(listener: http.RequestListener): Promise<Served> {
  const server = http.createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get: (path, headers) => send(port, 'GET', path, headers),
    request: (method, path, headers, body) => send(port, method, path, headers, body),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Waits until `check` holds, polling; bounded. */
export async function until(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('condition not reached in time')
}

/** A clock tests move by hand. */
export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
  }
}
