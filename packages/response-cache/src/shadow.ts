import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { type Captured, joinChunks, toBuffer } from './capture'

type Chunk = string | Uint8Array

const OVERRIDDEN = [
  'setHeader',
  'getHeader',
  'getHeaders',
  'getHeaderNames',
  'hasHeader',
  'removeHeader',
  'appendHeader',
  'writeHead',
  'write',
  'end',
  'flushHeaders',
] as const

export interface Shadow {
  /** Puts the response's own methods back, so it can be answered for real. */
  restore(): void
}

/**
 * Lets the rest of the middleware chain answer into memory instead of the socket. Used when
 * the client has already been answered (stale-while-revalidate refresh) or must not see the
 * handler's answer until it is known to be good (stale-if-error). Header reads and writes
 * go to a private map that starts as a copy of the headers already set upstream (or `initial`).
 */
export function shadowResponse(
  res: ServerResponse,
  onEnd: (captured: Captured) => void,
  initial?: OutgoingHttpHeaders,
): Shadow {
  const record = res as unknown as Record<string, unknown>
  const saved = new Map<string, unknown>()
  for (const name of OVERRIDDEN) saved.set(name, Object.hasOwn(record, name) ? record[name] : undefined)
  const headers = new Map<string, [string, number | string | readonly string[]]>()
  // `initial`: the headers set before the client was answered from the cache (a refresh must
  // not start from the replayed entry's Date, Age and ETag).
  const start = initial ?? res.getHeaders()
  for (const name of Object.keys(start)) {
    const value = start[name]
    if (value !== undefined) headers.set(name, [name, value])
  }
  const chunks: Buffer[] = []
  let size = 0
  let sent = false
  let ended = false

  const snapshot = (): OutgoingHttpHeaders => {
    const out: OutgoingHttpHeaders = {}
    for (const [lower, [, value]] of headers) out[lower] = value as OutgoingHttpHeaders[string]
    return out
  }
  const keep = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return
    const buffer = toBuffer(chunk as Chunk, encoding)
    size += buffer.length
    chunks.push(buffer)
  }

  record.setHeader = (name: string, value: number | string | readonly string[]) => {
    headers.set(name.toLowerCase(), [name, value])
    return res
  }
  record.appendHeader = (name: string, value: string | readonly string[]) => {
    const current = headers.get(name.toLowerCase())?.[1]
    const list = current === undefined ? [] : Array.isArray(current) ? [...current] : [String(current)]
    headers.set(name.toLowerCase(), [name, list.concat(value)])
    return res
  }
  record.getHeader = (name: string) => headers.get(name.toLowerCase())?.[1]
  record.getHeaders = snapshot
  record.getHeaderNames = () => [...headers.keys()]
  record.hasHeader = (name: string) => headers.has(name.toLowerCase())
  record.removeHeader = (name: string) => {
    headers.delete(name.toLowerCase())
  }
  record.flushHeaders = () => {
    sent = true
  }
  record.writeHead = (code: number, ...rest: unknown[]) => {
    res.statusCode = code
    const last = rest[rest.length - 1]
    if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
      for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) {
        if (value !== undefined) headers.set(name.toLowerCase(), [name, value])
      }
    }
    sent = true
    return res
  }
  record.write = (chunk: unknown, encoding?: unknown, cb?: unknown) => {
    sent = true
    keep(chunk, encoding)
    const callback = typeof encoding === 'function' ? encoding : cb
    if (typeof callback === 'function') queueMicrotask(() => callback())
    return true
  }
  record.end = (chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    if (ended) return res
    ended = true
    sent = true
    keep(chunk, encoding)
    const callback = typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : cb
    if (typeof callback === 'function') queueMicrotask(() => callback())
    onEnd({ status: res.statusCode, headers: snapshot(), body: joinChunks(chunks, size) })
    return res
  }
  Object.defineProperty(res, 'headersSent', { configurable: true, get: () => sent })

  return {
    restore() {
      for (const [name, value] of saved) {
        if (value === undefined) delete record[name]
        else record[name] = value
      }
      delete record.headersSent
    },
  }
}
