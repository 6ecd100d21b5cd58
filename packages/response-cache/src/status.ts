import { getHeader, getHeaders } from '@hotpath/core'
import type { Engine } from './engine'
import type { Ctx } from './flow'
import { msOf } from './options'
import { responseVerdict, type Verdict } from './policy'

/** Cache-Status `detail` tokens → the `stats().notStored` counter each one increments. */
export const NOT_STORED_KEYS: Readonly<Record<string, string>> = {
  'set-cookie': 'setCookie',
  private: 'private',
  'no-store': 'noStore',
  'no-cache': 'noCache',
  'vary-star': 'vary',
  status: 'status',
  partial: 'partial',
  'max-age=0': 'maxAge0',
  expired: 'expired',
  'ttl-0': 'ttl0',
  'no-freshness': 'noFreshness',
  size: 'size',
  incomplete: 'incomplete',
  head: 'head',
}

/**
 * Whether the body is known to fit when the head goes out: a Content-Length header, or the
 * length Node itself computed for `res.end(body)` (`_contentLength`, set before the implicit
 * head). A body still to be streamed is not known yet.
 */
function sizeKnown(res: Ctx['res'], limit: number): boolean {
  if (res.statusCode === 204 || res.statusCode === 304) return true
  const header = Number(getHeader(res, 'content-length'))
  if (Number.isSafeInteger(header)) return header <= limit
  const own = (res as unknown as { _contentLength?: unknown })._contentLength
  return typeof own === 'number' && own <= limit
}

/** Why a stored-looking verdict still does not store, known as the head goes out; else `undefined`. */
function lateReason(ctx: Ctx, verdict: Verdict & { store: true }): string | undefined {
  const { route } = ctx
  const f = verdict.fresh
  let lifetime: number
  if (route.freshness === 'origin')
    lifetime = Math.min(f.explicit ?? f.heuristic ?? route.defaultTtl, route.maxTtl)
  else {
    const ttl = ctx.ttl
    if (typeof ttl !== 'number') return undefined
    if (!(ttl > 0)) return 'ttl-0'
    lifetime = f.explicit === undefined ? ttl : Math.min(ttl, f.explicit)
  }
  if (!verdict.validators && (f.noCache || lifetime - f.initialAge <= 0)) {
    return route.freshness === 'origin' && f.explicit === undefined ? 'no-freshness' : 'expired'
  }
  return undefined
}

/**
 * The `Cache-Status` of a miss, decided at the last moment: its text is computed when Node
 * writes the head, after every header hook (a session's late `Set-Cookie`, compression) has
 * run, so it never says `stored` for what will not be stored (RFC 9211 §2.8). `stored` is
 * claimed only when the answer is known then: a dynamic `ttl` still pending, or a body of
 * unknown length, leaves it out.
 */
export function missStatus(engine: Engine, ctx: Ctx): { value: { toString(): string }; arm(): void } {
  let armed = false
  let text = ''
  // The value stays in the response's headers after the head went out: once its text is made
  // it holds no context (see the note on `handled` in middleware.ts).
  let pending: Ctx | undefined = ctx
  return {
    value: {
      toString(): string {
        // setHeader checks the value once, at once; the real text is for the head itself.
        if (!armed) return engine.status('fwd=miss')
        if (pending !== undefined) {
          text = missText(engine, pending)
          pending = undefined
        }
        return text
      },
    },
    arm() {
      armed = true
    },
  }
}

/** The text of a miss's `Cache-Status` from the headers as the head goes out; records the verdict on `ctx`. */
function missText(engine: Engine, ctx: Ctx): string {
  try {
    const { res, route } = ctx
    const headers = getHeaders(res)
    const verdict = responseVerdict(res.statusCode, headers, route, engine.cfg.now())
    // The headers the capture keeps once the head is out: the store decision reuses the verdict.
    ctx.headVerdict = verdict
    ctx.headHeaders = headers
    const reason = verdict.store ? (ctx.notStored ?? lateReason(ctx, verdict)) : verdict.reason
    if (reason !== undefined) return engine.status(`fwd=miss; detail=${reason}`)
    const known =
      (route.freshness === 'origin' || typeof ctx.ttl === 'number') && sizeKnown(res, route.maxEntryBytes)
    return engine.status(known ? 'fwd=miss; stored' : 'fwd=miss')
  } catch {
    return engine.status('fwd=miss')
  }
}

/** Resolves a dynamic `ttl` once, as the head goes out (the store decision reuses it). */
export function resolveTtl(ctx: Ctx): void {
  const ttl = ctx.route.ttl
  if (typeof ttl === 'number') {
    ctx.ttl = ttl
    return
  }
  try {
    const out = msOf(ttl, ctx.req, ctx.res)
    ctx.ttl = out
    if (out instanceof Promise) out.catch(() => undefined)
  } catch {
    ctx.ttl = 0
  }
}
