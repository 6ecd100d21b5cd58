import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import type { Express, RequestHandler } from 'express'
import type { Test } from 'supertest'
import { express } from '../../../test/helpers/express'

/** Collects the response bytes as they came off the wire. */
function collect(res: NodeJS.ReadableStream, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = []
  res.on('data', (chunk: Buffer) => chunks.push(chunk))
  res.on('end', () => done(null, Buffer.concat(chunks)))
}

/**
 * Makes supertest hand over the raw (still compressed) body as a Buffer in `res.body`:
 * superagent would otherwise inflate gzip/deflate/br before any parser sees the bytes.
 */
export function raw(test: Test): Test {
  ;(test as unknown as { _shouldDecompress: () => boolean })._shouldDecompress = () => false
  return test.buffer(true).parse(collect as unknown as Parameters<Test['parse']>[0])
}

/** Inflates a body according to its `Content-Encoding`. */
export function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(body)
  if (encoding === 'br') return zlib.brotliDecompressSync(body)
  if (encoding === 'deflate') return zlib.inflateSync(body)
  return body
}

/** A JSON value whose text is about `size` bytes and compresses well. */
export function jsonOfSize(size: number): { items: Array<{ id: number; name: string }> } {
  const items: Array<{ id: number; name: string }> = []
  let length = 12
  for (let id = 0; length < size; id++) {
    const item = { id, name: `product number ${id} with a descriptive name` }
    items.push(item)
    length += JSON.stringify(item).length + 1
  }
  return { items }
}

/** An Express app with `middleware` mounted first and the given routes after it. */
export function appWith(middleware: RequestHandler, routes: (app: Express) => void): Express {
  const app = express()
  app.use(middleware)
  routes(app)
  return app
}

export interface Listening {
  port: number
  close(): Promise<void>
}

/** Listens on 127.0.0.1 for tests that need a raw socket client. */
export function listen(app: Express | http.RequestListener): Promise<Listening> {
  return new Promise((resolve) => {
    const server = http.createServer(app as http.RequestListener)
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

/** Resolves once `predicate()` holds, polling every 10 ms for at most `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
