import type { NextFunction, Request, Response } from 'express'
import request from 'supertest'
import { express, expressMajor } from '../../../test/helpers/express'
import { compose, HotpathError } from '../src'

type Mw = (req: Request, res: Response, next: NextFunction) => unknown

const tag =
  (name: string): Mw =>
  (_req, res, next) => {
    res.append('X-Trail', name)
    next()
  }

function appWith(...handlers: Parameters<typeof compose>) {
  const app = express()
  app.use(compose(...handlers))
  app.use((_req: Request, res: Response) => {
    res.send('end')
  })
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`handled: ${err.message}`)
  })
  return app
}

describe('compose', () => {
  it('runs middlewares in order inside one layer', async () => {
    const app = appWith(tag('a'), tag('b'), [tag('c'), tag('d')])
    const res = await request(app).get('/').expect(200)
    expect(res.headers['x-trail']).toBe('a, b, c, d')
    expect(res.text).toBe('end')
  })

  it('is one Express layer however many middlewares it holds', () => {
    const plain = express()
    plain.get('/probe', () => {})
    const composed = express()
    composed.use(compose(tag('a'), tag('b'), tag('c')))
    composed.get('/probe', () => {})
    expect(countLayers(composed) - countLayers(plain)).toBe(1)
  })

  it('stops when a middleware answers without calling next', async () => {
    const early: Mw = (_req, res) => {
      res.status(201).send('early')
    }
    const after = jest.fn(tag('after'))
    const res = await request(appWith(tag('a'), early, after))
      .get('/')
      .expect(201)
    expect(res.text).toBe('early')
    expect(after).not.toHaveBeenCalled()
  })

  it('skips to the next error handler on next(err) and resumes after it', async () => {
    const fail: Mw = (_req, _res, next) => next(new Error('boom'))
    const skipped = jest.fn(tag('skipped'))
    const recover = (err: Error, _req: Request, res: Response, next: NextFunction) => {
      res.append('X-Recovered', err.message)
      next()
    }
    const res = await request(appWith(fail, skipped, recover, tag('after')))
      .get('/')
      .expect(200)
    expect(skipped).not.toHaveBeenCalled()
    expect(res.headers['x-recovered']).toBe('boom')
    expect(res.headers['x-trail']).toBe('after')
  })

  it('turns a synchronous throw into next(err)', async () => {
    const thrower: Mw = () => {
      throw new Error('sync')
    }
    const res = await request(appWith(thrower)).get('/').expect(500)
    expect(res.text).toBe('handled: sync')
  })

  it('turns a rejected promise into next(err) on every Express major', async () => {
    const rejecter: Mw = async () => {
      throw new Error('async')
    }
    const res = await request(appWith(rejecter)).get('/').expect(500)
    expect(res.text).toBe('handled: async')
  })

  it('passes an error it cannot handle to the outer stack', async () => {
    const fail: Mw = (_req, _res, next) => next(new Error('outer'))
    const res = await request(appWith(fail, tag('never')))
      .get('/')
      .expect(500)
    expect(res.text).toBe('handled: outer')
  })

  it("leaves the composed stack on next('route')", async () => {
    const app = express()
    const skip: Mw = (_req, _res, next) => next('route')
    const never = jest.fn(tag('never'))
    app.get('/x', compose(skip, never), (_req: Request, res: Response) => {
      res.send('first route')
    })
    app.get('/x', (_req: Request, res: Response) => {
      res.send('second route')
    })
    const res = await request(app).get('/x').expect(200)
    expect(res.text).toBe('second route')
    expect(never).not.toHaveBeenCalled()
  })

  it('wraps even a single middleware so its rejections reach next(err) on Express 4', async () => {
    const app = express()
    app.use(compose(async () => Promise.reject(new Error('single'))))
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(err.message)
    })
    const res = await request(app).get('/').expect(500)
    expect(res.text).toBe('single')
  })

  it('rejects something that is not a function, naming its position', () => {
    expect(() => compose(tag('a'), 'nope' as never)).toThrow(
      new HotpathError('ERR_HOTPATH_COMPOSE', 'compose(): argument 1 is string, not a middleware function.'),
    )
  })
})

function countLayers(app: ReturnType<typeof express>): number {
  // Express 4 keeps the stack on app._router, Express 5 on app.router; both are internal.
  const holder = app as unknown as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } }
  const router = expressMajor >= 5 ? holder.router : holder._router
  return (router as { stack: unknown[] }).stack.length
}
