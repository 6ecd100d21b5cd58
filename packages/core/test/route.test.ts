import type { Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { routeOf, UNMATCHED } from '../src'

function recordingApp() {
  const app = express()
  const seen: string[] = []
  app.use((req: Request, res: Response, next: () => void) => {
    res.on('finish', () => seen.push(routeOf(req)))
    next()
  })
  return { app, seen }
}

describe('routeOf', () => {
  it('labels a top-level route with its method and template', async () => {
    const { app, seen } = recordingApp()
    app.get('/api/users/:id', (_req, res) => res.send('ok'))
    await request(app).get('/api/users/42').expect(200)
    expect(seen).toEqual(['GET /api/users/:id'])
  })

  it('joins the mount path of nested routers with the route template', async () => {
    const { app, seen } = recordingApp()
    const inner = express.Router()
    inner.get('/:id', (_req, res) => res.send('ok'))
    const outer = express.Router()
    outer.use('/users', inner)
    app.use('/api/v1', outer)
    await request(app).get('/api/v1/users/7').expect(200)
    expect(seen).toEqual(['GET /api/v1/users/:id'])
  })

  it('folds parameter values in a mount path back to their names with mergeParams', async () => {
    const { app, seen } = recordingApp()
    const posts = express.Router({ mergeParams: true })
    posts.get('/:postId', (_req, res) => res.send('ok'))
    app.use('/users/:userId/posts', posts)
    await request(app).get('/users/alice/posts/99').expect(200)
    await request(app).get('/users/bob/posts/100').expect(200)
    expect(seen).toEqual(['GET /users/:userId/posts/:postId', 'GET /users/:userId/posts/:postId'])
  })

  it('folds identifier-like mount segments to :id without mergeParams', async () => {
    const { app, seen } = recordingApp()
    const posts = express.Router()
    posts.get('/', (_req, res) => res.send('ok'))
    app.use('/users/:userId/posts', posts)
    await request(app).get('/users/12345/posts').expect(200)
    expect(seen).toEqual(['GET /users/:id/posts'])
  })

  it('labels a router root route without a trailing slash', async () => {
    const { app, seen } = recordingApp()
    const router = express.Router()
    router.get('/', (_req, res) => res.send('ok'))
    app.use('/api/products', router)
    await request(app).get('/api/products').expect(200)
    expect(seen).toEqual(['GET /api/products'])
  })

  it('labels a request served by mounted middleware as its mount path with /*', async () => {
    const { app, seen } = recordingApp()
    app.use('/static', (_req: Request, res: Response) => {
      res.send('file')
    })
    await request(app).get('/static/app.js').expect(200)
    expect(seen).toEqual(['GET /static/*'])
  })

  it('puts every request no route answered into one unmatched label', async () => {
    const { app, seen } = recordingApp()
    app.get('/known', (_req, res) => res.send('ok'))
    const router = express.Router()
    app.use('/api', router)
    await request(app).get('/nope/1').expect(404)
    await request(app).get('/api/nothing-here').expect(404)
    await request(app).get('/x?y=1').expect(404)
    expect(seen).toEqual([UNMATCHED, UNMATCHED, UNMATCHED])
  })

  it('folds methods outside the known list into OTHER', async () => {
    const { app, seen } = recordingApp()
    app.all('/thing', (_req, res) => res.send('ok'))
    await request(app).get('/thing').expect(200)
    await request(app).options('/thing').expect(200)
    await request(app).purge('/thing').expect(200)
    expect(seen).toEqual(['GET /thing', 'OPTIONS /thing', 'OTHER /thing'])
  })

  it('returns unmatched for a bare request object with no route', () => {
    expect(routeOf({ method: 'GET', baseUrl: '', url: '/' } as Request)).toBe(UNMATCHED)
  })
})
