import type { NextFunction, Request, Response } from 'express'

/**
 * No inline script or style, no framing, nothing from another origin. `img-src data:` only
 * admits the page's empty `data:` favicon.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/** Set on every response of the router, errors included, before anything else runs. */
const HEADERS: ReadonlyArray<readonly [string, string]> = [
  // RFC 9111 §5.2.2.5: no cache (browser, proxy, or a response cache in the app) keeps these numbers.
  ['Cache-Control', 'no-store'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Content-Security-Policy', CSP],
  ['X-Frame-Options', 'DENY'],
  // `same-origin`, not `no-referrer`: the latter makes browsers send `Origin: null` on form posts.
  ['Referrer-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
]

export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  for (const [name, value] of HEADERS) res.setHeader(name, value)
  next()
}

/**
 * Whether a state-changing request comes from the dashboard's own origin. Browsers send
 * `Sec-Fetch-Site` (Fetch Metadata) and `Origin` (RFC 6454 §7) on every POST; a client that sends
 * neither is not a browser and cannot be made to post by another site. `Sec-Fetch-Site` is
 * preferred because a proxy that rewrites `Host` cannot fool it.
 */
export function isSameOrigin(req: Request, allowed: ReadonlySet<string>): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) return site === 'same-origin'
  const origin = req.headers.origin
  if (origin === undefined) return true
  if (allowed.has(origin)) return true
  let host: string
  try {
    const url = new URL(origin)
    if (url.origin === 'null') return false
    host = url.host
  } catch {
    return false
  }
  // The scheme is not compared: behind a TLS-terminating proxy the app sees http.
  const own = req.headers.host
  return typeof own === 'string' && own.toLowerCase() === host.toLowerCase()
}

/** `application/json`, with or without parameters (RFC 8259 §11). Forms cannot send it without CORS. */
export function isJson(req: Request): boolean {
  const type = req.headers['content-type']
  return typeof type === 'string' && /^application\/json\s*(?:;|$)/i.test(type)
}

export function isForm(req: Request): boolean {
  const type = req.headers['content-type']
  return typeof type === 'string' && /^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(type)
}
