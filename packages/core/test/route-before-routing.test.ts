/**
 * Requests answered before routing: a 429 from a limiter mounted with `app.use` and a static
 * file from a root-mounted middleware. They are labelled by the route they would have reached,
 * else by their mount path; only what nobody answered is `unmatched`.
 */
import type { NextFunction, Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { routeOf, UNMATCHED } from '../src'

function app() {
  const server = express()
  const seen: string[] = []
  server.use((req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => seen.push(routeOf(req)))
    next()
  })
  // A stand-in limiter: refuses anything with ?limited before the routes run.
  server.use((req: Request, res: Response, next: NextFunction) => {
    if ('limited' in req.query) res.status(429).send('Too many requests')
    else next()
  })
  // A stand-in static middleware at the root: answers /assets/… itself.
  server.use((req: Request, res: Response, next: NextFunction) => {
    if (req.path.startsWith('/assets/')) res.type('css').send('body{}')
    else next()
  })
  const api = express.Router()
  api.get('/products/:id', (_req: Request, res: Response) => {
    res.send('ok')
  })
  server.use('/api', api)
  server.get('/health', (_req: Request, res: Response) => {
    res.send('ok')
  })
  return { server, seen }
}

describe('routeOf for requests answered before routing', () => {
  it('labels a 429 by the route it would have reached', async () => {
    const { server, seen } = app()
    await request(server).get('/health?limited').expect(429)
    expect(seen).toEqual(['GET /health'])
  })

  it('labels a 429 by a nested router route it would have reached', async () => {
    const { server, seen } = app()
    await request(server).get('/api/products/42?limited').expect(429)
    expect(seen).toEqual(['GET /api/products/:id'])
  })

  it('labels a 429 for a HEAD request by the GET route it would have reached', async () => {
    const { server, seen } = app()
    await request(server).head('/health?limited').expect(429)
    expect(seen).toEqual(['HEAD /health'])
  })

  it('labels a 429 on a path no route serves by the mount path', async () => {
    const { server, seen } = app()
    await request(server).get('/nowhere?limited').expect(429)
    expect(seen).toEqual(['GET /*'])
  })

  it('labels a file served by a root-mounted middleware by its mount path', async () => {
    const { server, seen } = app()
    await request(server).get('/assets/site.css').expect(200)
    expect(seen).toEqual(['GET /*'])
  })

  it('keeps a request nobody answered unmatched', async () => {
    const { server, seen } = app()
    await request(server).get('/api/missing').expect(404)
    await request(server).get('/nothing').expect(404)
    expect(seen).toEqual([UNMATCHED, UNMATCHED])
  })

  it('labels a route template once, however many distinct ids are refused', async () => {
    const { server, seen } = app()
    for (const id of [1, 2, 3]) await request(server).get(`/api/products/${id}?limited`).expect(429)
    expect(new Set(seen)).toEqual(new Set(['GET /api/products/:id']))
  })
})
