import type { CacheInvalidation, CacheSource, DataCacheSource } from '@hotpath/core'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { Auth } from './auth'
import { type Config, isCookiePath } from './options'
import { type Assets, sendAsset } from './page'
import { guarded, SCHEMA } from './report'
import { isForm, isJson, isSameOrigin } from './security'
import { readCookie } from './sessions'

const MAX_TARGET_LENGTH = 1024

function refuse(res: Response, status: number, error: string, message: string): void {
  res.status(status).json({ schema: SCHEMA, error, message })
}

/** Body parsers that never throw into the app: a malformed body is a 400 from here. */
function parseWith(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    parser(req, res, (err?: unknown) => {
      if (err === undefined || err === null) return next()
      const status = (err as { status?: unknown }).status
      refuse(
        res,
        typeof status === 'number' && status < 500 ? status : 400,
        'bad_request',
        'The request body could not be read.',
      )
    })
  }
}

const jsonBody = parseWith(express.json({ limit: '2kb', strict: true }))
const formBody = parseWith(express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 }))

/** `{ tag }`, `{ key }`, `{ prefix }` or `{ all: true }`, exactly one, as the cache contract takes it. */
function targetOf(body: unknown): CacheInvalidation | 'all' | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  const keys = Object.keys(body)
  if (keys.length !== 1) return undefined
  const name = keys[0] as string
  const value = (body as Record<string, unknown>)[name]
  if (name === 'all') return value === true ? 'all' : undefined
  if (name !== 'tag' && name !== 'key' && name !== 'prefix') return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TARGET_LENGTH) return undefined
  return { [name]: value } as CacheInvalidation
}

/**
 * `POST /cache/clear`. Order: cross-site (a browser that posts from elsewhere), write permission,
 * then JSON only — a form cannot send `application/json` without a CORS preflight this router never grants.
 */
export function cacheClearHandlers(
  cache: CacheSource | undefined,
  auth: Auth,
  config: Config,
  dataCache?: DataCacheSource,
): RequestHandler[] {
  const gate: RequestHandler = (req, res, next) => {
    if (!isSameOrigin(req, config.allowedOrigins)) {
      return refuse(res, 403, 'cross_site', 'Cross-site requests cannot change the cache.')
    }
    auth.may(req, 'write').then((allowed) => {
      if (!allowed) {
        return refuse(
          res,
          403,
          'forbidden',
          'This credential may read the dashboard but not clear the cache.',
        )
      }
      if (!isJson(req)) {
        return refuse(res, 415, 'unsupported_media_type', 'Send the body as Content-Type: application/json.')
      }
      next()
    }, next)
  }
  const clear = guarded(async (req, res) => {
    const target = targetOf(req.body)
    if (target === undefined) {
      return refuse(
        res,
        400,
        'bad_request',
        'Send exactly one of { "tag": "…" }, { "key": "…" }, { "prefix": "…" } or { "all": true }.',
      )
    }
    // A tag (or everything) also reaches the data cache, whose tags the response cache shares.
    if (target === 'all') {
      await cache?.clear()
      await dataCache?.clear()
      res.json({
        schema: SCHEMA,
        cleared: { all: true },
        removed: null,
        ...(dataCache ? { dataCache: true } : {}),
      })
      return
    }
    if (cache === undefined && !('tag' in target)) {
      return refuse(
        res,
        400,
        'bad_request',
        'Only { "tag" } or { "all": true } reach the data cache; there is no response cache.',
      )
    }
    const removed = cache ? await cache.invalidate(target) : null
    const data = dataCache !== undefined && 'tag' in target
    if (data) await dataCache.deleteByTag(target.tag)
    res.json({ schema: SCHEMA, cleared: target, removed, ...(dataCache ? { dataCache: data } : {}) })
  })
  return [gate, jsonBody, clear]
}

/** `Path` is the mount path so the cookie is not sent to the rest of the application. */
function cookiePathOf(req: Request, config: Config): string {
  if (config.session.cookiePath !== undefined) return config.session.cookiePath
  return isCookiePath(req.baseUrl) ? req.baseUrl : '/'
}

function sessionCookie(req: Request, config: Config, value: string, maxAgeSeconds: number): string {
  // RFC 6265 §4.1; `Secure` whenever the request came over TLS (as Express sees it, after `trust proxy`).
  const secure = req.secure ? '; Secure' : ''
  return `${config.session.cookieName}=${value}; Path=${cookiePathOf(req, config)}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`
}

function seeOther(res: Response): void {
  // RFC 9110 §15.4.4: 303 turns the POST into a GET of the page; relative, so any mount or prefix works.
  res.status(303).setHeader('Location', './')
  res.end()
}

/** `POST /login`: trades the token from the sign-in form for a session cookie. */
export function signInHandlers(auth: Auth, config: Config, assets: Assets): RequestHandler[] {
  const check = (req: Request, res: Response, next: NextFunction) => {
    if (!isSameOrigin(req, config.allowedOrigins))
      return refuse(res, 403, 'cross_site', 'Sign in from the dashboard page.')
    if (!isForm(req))
      return refuse(
        res,
        415,
        'unsupported_media_type',
        'Send the sign-in form (application/x-www-form-urlencoded).',
      )
    next()
  }
  const signIn = (req: Request, res: Response) => {
    const token = (req.body as Record<string, unknown> | undefined)?.token
    if (!auth.checkToken(token)) return sendAsset(res, assets.signInFailed, 401)
    const id = auth.sessions.create()
    res.setHeader('Set-Cookie', sessionCookie(req, config, id, Math.floor(config.session.ttlMs / 1000)))
    seeOther(res)
  }
  return [check, formBody, signIn]
}

/** `POST /logout`: forgets the session and expires the cookie. */
export function signOutHandler(auth: Auth, config: Config): RequestHandler {
  return (req, res) => {
    if (!isSameOrigin(req, config.allowedOrigins))
      return refuse(res, 403, 'cross_site', 'Sign out from the dashboard page.')
    const id = readCookie(req.headers.cookie, config.session.cookieName)
    if (id !== undefined) auth.sessions.delete(id)
    res.setHeader('Set-Cookie', sessionCookie(req, config, '', 0))
    seeOther(res)
  }
}
