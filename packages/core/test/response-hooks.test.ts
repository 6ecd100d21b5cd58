import { createServer, type ServerResponse } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { createResponseHook } from '../src'

/** A hook that stamps `X-Hooked: <name>` as the headers go out and counts the ends it saw. */
function stamping(name: string) {
  const seen = { writeHead: 0, end: 0 }
  const hook = createResponseHook<{ name: string }>({
    writeHead(res, state, prev, args) {
      seen.writeHead++
      res.setHeader('X-Hooked', [...((res.getHeader('x-hooked') as string[]) ?? []), state.name])
      return prev.apply(res, args)
    },
    end(res, _state, prev, args) {
      seen.end++
      return prev.apply(res, args)
    },
  })
  const middleware = (_req: Request, res: Response, next: NextFunction) => {
    hook.attach(res, { name })
    next()
  }
  return { hook, middleware, seen }
}

const ownKeys = (res: object) => [...Object.getOwnPropertyNames(res), ...Object.getOwnPropertySymbols(res)]

describe('createResponseHook', () => {
  it('hooks writeHead and end of an attached response, once each', async () => {
    const { middleware, seen } = stamping('a')
    const app = express()
    app.use(middleware)
    app.get('/', (_req, res) => {
      res.send('body')
    })
    const res = await request(app).get('/').expect(200, 'body')
    expect(res.headers['x-hooked']).toBe('a')
    expect(seen).toEqual({ writeHead: 1, end: 1 })
  })

  it('adds no property to an Express response (the hooks live on the app prototype)', async () => {
    const { middleware } = stamping('a')
    const app = express()
    let before: unknown[] = []
    let after: unknown[] = []
    app.use((_req: Request, res: Response, next: NextFunction) => {
      before = ownKeys(res)
      next()
    })
    app.use(middleware)
    app.get('/', (_req, res) => {
      after = ownKeys(res)
      res.send('body')
    })
    await request(app).get('/').expect(200)
    expect(after).toEqual(before)
  })

  it('leaves responses that were not attached alone, on the same app', async () => {
    const { hook, seen } = stamping('a')
    const app = express()
    app.get('/on', (_req, res) => {
      hook.attach(res, { name: 'a' })
      res.send('on')
    })
    app.get('/off', (_req, res) => {
      res.send('off')
    })
    await request(app).get('/on').expect(200)
    const off = await request(app).get('/off').expect(200, 'off')
    expect(off.headers['x-hooked']).toBeUndefined()
    expect(seen).toEqual({ writeHead: 1, end: 1 })
  })

  it('stops hooking a released response', async () => {
    const { hook, seen } = stamping('a')
    const app = express()
    app.get('/', (_req, res) => {
      hook.attach(res, { name: 'a' })
      hook.release(res)
      expect(hook.stateOf(res)).toBeUndefined()
      res.send('x')
    })
    const res = await request(app).get('/').expect(200)
    expect(res.headers['x-hooked']).toBeUndefined()
    expect(seen).toEqual({ writeHead: 0, end: 0 })
  })

  it('releases a response attached again after a layer replaced its own end', async () => {
    const { hook, seen } = stamping('a')
    const app = express()
    app.get('/', (_req, res) => {
      hook.attach(res, { name: 'first' })
      // Another layer wraps end on the instance (as classic middleware do); attaching again then
      // hooks the response itself, and one release must free it from both kinds of hook.
      const end = res.end
      res.end = function (this: Response, ...args: unknown[]) {
        return (end as (...a: unknown[]) => Response).apply(this, args)
      } as Response['end']
      hook.attach(res, { name: 'second' })
      expect(hook.stateOf(res)).toEqual({ name: 'second' })
      hook.release(res)
      expect(hook.stateOf(res)).toBeUndefined()
      res.send('x')
    })
    const res = await request(app).get('/').expect(200, 'x')
    expect(res.headers['x-hooked']).toBeUndefined()
    expect(seen).toEqual({ writeHead: 0, end: 0 })
  })

  it('chains two instances in mount order, each with its own state', async () => {
    const a = stamping('a')
    const b = stamping('b')
    const app = express()
    app.use(a.middleware, b.middleware)
    app.get('/', (_req, res) => {
      res.send('x')
    })
    const res = await request(app).get('/').expect(200)
    // b wrapped a: b's writeHead runs first and a's sees b's stamp.
    expect(res.headers['x-hooked']).toBe('b, a')
  })

  it('attaching twice hooks once', async () => {
    const { hook, seen } = stamping('a')
    const server = createServer((_req, res: ServerResponse) => {
      hook.attach(res, { name: 'first' })
      hook.attach(res, { name: 'second' })
      res.end('plain')
    })
    const res = await request(server).get('/').expect(200, 'plain')
    expect(res.headers['x-hooked']).toBe('second')
    expect(seen).toEqual({ writeHead: 1, end: 1 })
  })

  it('hooks a plain node:http response on the response itself', async () => {
    const { hook } = stamping('a')
    const server = createServer((_req, res: ServerResponse) => {
      hook.attach(res, { name: 'node' })
      expect(Object.hasOwn(res, 'end')).toBe(true)
      res.end('plain')
    })
    const res = await request(server).get('/').expect(200, 'plain')
    expect(res.headers['x-hooked']).toBe('node')
  })

  it('hooks inside a mounted sub-app on the response, and survives the hand-back to the parent', async () => {
    const { middleware } = stamping('sub')
    const sub = express()
    sub.use(middleware)
    sub.get('/here', (_req, res) => {
      res.send('sub')
    })
    const app = express()
    app.use('/sub', sub)
    app.use((_req: Request, res: Response) => {
      res.send('parent')
    })
    const here = await request(app).get('/sub/here').expect(200, 'sub')
    expect(here.headers['x-hooked']).toBe('sub')
    // Unanswered by the sub-app: the parent restores its prototype and still gets the hook.
    const back = await request(app).get('/sub/elsewhere').expect(200, 'parent')
    expect(back.headers['x-hooked']).toBe('sub')
  })
})

describe('createResponseHook when another layer replaced the methods', () => {
  it('hooks such a response once, even though the prototype is hooked too', async () => {
    const { hook, seen } = stamping('a')
    const app = express()
    app.get('/plain', (_req, res) => {
      hook.attach(res, { name: 'a' })
      res.send('plain')
    })
    app.get('/wrapped', (_req, res) => {
      const end = res.end
      // A classic middleware's own-property hook, installed before ours.
      res.end = function wrappedEnd(this: Response, ...args: unknown[]) {
        return (end as (...a: unknown[]) => Response).apply(this, args)
      } as Response['end']
      hook.attach(res, { name: 'a' })
      res.send('wrapped')
    })
    await request(app).get('/plain').expect(200)
    const res = await request(app).get('/wrapped').expect(200, 'wrapped')
    expect(res.headers['x-hooked']).toBe('a')
    expect(seen).toEqual({ writeHead: 2, end: 2 })
  })
})
