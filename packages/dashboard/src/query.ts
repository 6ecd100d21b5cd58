import type { WindowName } from '@hotpath/core'
import { WINDOWS } from '@hotpath/core'
import type { Request } from 'express'

export const MAX_LIMIT = 100
const DEFAULT_LIMIT = 10

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string }

/** `?window=` — one of the profiler's rolling windows. */
export function windowParam(req: Request, fallback: WindowName): Parsed<WindowName> {
  const raw = single(req, 'window')
  if (raw === undefined) return { ok: true, value: fallback }
  if (typeof raw === 'string' && WINDOWS.includes(raw as WindowName))
    return { ok: true, value: raw as WindowName }
  return { ok: false, message: `window must be one of ${WINDOWS.join(', ')}` }
}

/** `?limit=` — a whole number from 1 to {@link MAX_LIMIT}, digits only. */
export function limitParam(req: Request): Parsed<number> {
  const raw = single(req, 'limit')
  if (raw === undefined) return { ok: true, value: DEFAULT_LIMIT }
  if (typeof raw === 'string' && /^\d{1,3}$/.test(raw)) {
    const value = Number(raw)
    if (value >= 1 && value <= MAX_LIMIT) return { ok: true, value }
  }
  return { ok: false, message: `limit must be a whole number from 1 to ${MAX_LIMIT}` }
}

/** A repeated (`?a=1&a=2`) or nested (`?a[b]=1`) parameter is not a string and is refused by the callers. */
function single(req: Request, name: string): unknown {
  const query = req.query as Record<string, unknown>
  return Object.hasOwn(query, name) ? query[name] : undefined
}
