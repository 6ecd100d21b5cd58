import http from 'node:http'
import { express } from '../../../test/helpers/express'
import {
  getHeader,
  hasHeader,
  headersSent,
  onResponse,
  removeHeader,
  requestHeaders,
  setHeader,
  writableFinished,
} from '../src'

/** Serves one request through `handler` and resolves what the client got. */
async function roundTrip(
  listener: http.RequestListener,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const server = http.createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    return await new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', headers: { 'x-probe': 'yes' } }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            body += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        })
        .on('error', reject)
    })
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

describe('direct Node calls on a response', () => {
  it('on an Express response, do what the methods and getters do', async () => {
    const seen: unknown[] = []
    const app = express()
    app.get('/', (req, res) => {
      seen.push(requestHeaders(req)['x-probe'])
      setHeader(res, 'X-One', '1')
      setHeader(res, 'X-Two', ['a', 'b'])
      seen.push(hasHeader(res, 'x-one'), getHeader(res, 'X-ONE'), hasHeader(res, 'x-none'))
      setHeader(res, 'X-Gone', 'soon')
      removeHeader(res, 'x-gone')
      seen.push(headersSent(res), writableFinished(res))
      onResponse(res, 'close', () => seen.push('closed', headersSent(res), writableFinished(res)))
      res.send('ok')
    })
    const reply = await roundTrip(app)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect([reply.status, reply.body, reply.headers['x-one'], reply.headers['x-two']]).toEqual([
      200,
      'ok',
      '1',
      'a, b',
    ])
    expect(reply.headers['x-gone']).toBeUndefined()
    expect(seen).toEqual(['yes', true, '1', false, false, false, 'closed', true, true])
  })

  it('on any other object, call its own methods and read its own properties', () => {
    const calls: string[] = []
    const fake = {
      headersSent: true,
      writableFinished: true,
      headers: { 'x-probe': 'fake' },
      setHeader: (name: string, value: unknown) => calls.push(`set ${name}=${String(value)}`),
      getHeader: (name: string) => `got ${name}`,
      hasHeader: (name: string) => name === 'x-yes',
      removeHeader: (name: string) => calls.push(`remove ${name}`),
      on: (event: string) => calls.push(`on ${event}`),
    }
    setHeader(fake as never, 'X-A', 'b')
    removeHeader(fake as never, 'x-a')
    onResponse(fake, 'close', () => {})
    expect(calls).toEqual(['set X-A=b', 'remove x-a', 'on close'])
    expect(getHeader(fake as never, 'x-q')).toBe('got x-q')
    expect([hasHeader(fake as never, 'x-yes'), hasHeader(fake as never, 'x-no')]).toEqual([true, false])
    expect([headersSent(fake), writableFinished(fake)]).toEqual([true, true])
    expect(requestHeaders(fake)).toEqual({ 'x-probe': 'fake' })
  })
})
