import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  text: string
  /** The body ended with the end of the message (not a cut connection). */
  complete: boolean
}

export interface Served {
  port: number
  get(path: string, headers?: Record<string, string>): Promise<Reply>
  close(): Promise<void>
}

/** Raw HTTP on a fresh connection: exact bytes, no decompression, and whether the body was whole. */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      let settled = false
      const done = (complete: boolean) => {
        if (settled) return
        settled = true
        const body = Buffer.concat(chunks)
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          complete,
        })
      }
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => done(res.complete))
      res.on('aborted', () => done(false))
      res.on('error', () => done(false))
      res.on('close', () => done(res.complete))
    })
    req.on('error', reject)
    req.end()
  })
}

export async function serve(listener: http.RequestListener): Promise<Served> {
  const server = http.createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    get: (path, headers) => get(port, path, headers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Waits until `check` holds, polling; bounded. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('condition not reached in time')
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
