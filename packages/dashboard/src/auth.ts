import { createHash, timingSafeEqual } from 'node:crypto'
import type { OnceLogger } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import type { Config } from './options'
import { readCookie, type Sessions } from './sessions'
import type { Action } from './types'

/** Paths served before sign-in, matched exactly (no case folding, no decoding): anything else needs auth. */
const PUBLIC: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['/', new Set(['GET', 'HEAD'])],
  ['/assets/app.css', new Set(['GET', 'HEAD'])],
  ['/login', new Set(['POST'])],
  ['/logout', new Set(['POST'])],
])

const REALM = 'Bearer realm="hotpath-dashboard"'

export interface Auth {
  /** Router-level: runs before every route, for every path. */
  authenticate(req: Request, res: Response, next: NextFunction): void
  /** Whether this request passed authentication (used by `/` to choose the page). */
  isAuthenticated(req: Request): boolean
  /** Whether the authenticated request may do `action`. */
  may(req: Request, action: Action): Promise<boolean>
  /** Token mode only: checks a token from the sign-in form. */
  checkToken(candidate: unknown): boolean
  readonly sessions: Sessions
}

export function createAuth(config: Config, sessions: Sessions, log: OnceLogger): Auth {
  const { auth } = config
  const cookieName = config.session.cookieName
  const authenticated = new WeakSet<Request>()
  // Equal-length digests make timingSafeEqual applicable and hide the token's length.
  const expected = auth.kind === 'token' ? createHash('sha256').update(auth.token).digest() : undefined

  const checkToken = (candidate: unknown): boolean => {
    if (expected === undefined || typeof candidate !== 'string' || candidate.length > 1024) return false
    return timingSafeEqual(createHash('sha256').update(candidate).digest(), expected)
  }

  const authorize = async (req: Request, action: Action): Promise<boolean> => {
    if (auth.kind !== 'authorize') return true
    try {
      return (await auth.authorize(req, action)) === true
    } catch (err) {
      log.errorOnce(
        'ERR_HOTPATH_DASHBOARD_AUTHORIZE',
        '@hotpath/dashboard: auth.authorize threw; the request was refused.',
        err,
      )
      return false
    }
  }

  const byToken = (req: Request): 'ok' | 'invalid' | 'absent' => {
    const header = req.headers.authorization
    // RFC 6750 §2.1; the scheme is case-insensitive (RFC 9110 §11.1).
    if (typeof header === 'string' && /^bearer(?: |$)/i.test(header)) {
      const match = /^bearer +(\S+) *$/i.exec(header)
      return match && checkToken(match[1]) ? 'ok' : 'invalid'
    }
    const id = readCookie(req.headers.cookie, cookieName)
    if (id === undefined) return 'absent'
    return sessions.has(id) ? 'ok' : 'invalid'
  }

  const isPublic = (req: Request) => PUBLIC.get(req.path)?.has(req.method) === true

  function authenticate(req: Request, res: Response, next: NextFunction): void {
    if (auth.kind === 'none') {
      authenticated.add(req)
      next()
      return
    }
    if (auth.kind === 'token') {
      const outcome = byToken(req)
      if (outcome === 'ok') authenticated.add(req)
      if (outcome === 'ok' || isPublic(req)) {
        next()
        return
      }
      res.setHeader('WWW-Authenticate', outcome === 'invalid' ? `${REALM}, error="invalid_token"` : REALM)
      res.status(401).json({
        schema: 1,
        error: 'unauthorized',
        message: 'Send Authorization: Bearer <token>, or sign in on the dashboard page.',
      })
      return
    }
    authorize(req, 'read').then((ok) => {
      if (ok) {
        authenticated.add(req)
        next()
        return
      }
      res.status(403).json({ schema: 1, error: 'forbidden', message: 'auth.authorize refused read access.' })
    }, next)
  }

  return {
    authenticate,
    isAuthenticated: (req) => authenticated.has(req),
    may: async (req, action) =>
      authenticated.has(req) && (action === 'read' || (await authorize(req, action))),
    checkToken,
    sessions,
  }
}
