import { EventEmitter } from 'node:events'
import {
  type IncomingHttpHeaders,
  IncomingMessage,
  type OutgoingHttpHeaders,
  OutgoingMessage,
  ServerResponse,
} from 'node:http'

/**
 * Node's own response methods and getters, called on a Node response directly.
 *
 * Looking a method or getter up on an Express response (`res.setHeader`, `res.headersSent`)
 * goes through the per-app prototype chain Express gives every response, and V8 does not
 * cache that lookup: a CPU profile of the 1 KB route shows about 0.3 µs per lookup, several
 * per middleware per request, more than the work itself. These helpers call the same Node
 * functions with the response as `this`, so what they do is exactly what the method does.
 * Any other response object (a test double, another framework's response) gets its own
 * method called. A method patched onto one response instance is not seen by them.
 */
const proto = OutgoingMessage.prototype
const nodeSetHeader = proto.setHeader
const nodeGetHeader = proto.getHeader
const nodeHasHeader = proto.hasHeader
const nodeRemoveHeader = proto.removeHeader
const nodeGetHeaders = proto.getHeaders
const nodeOn = EventEmitter.prototype.on
const headersSentGetter = getter<boolean>(proto, 'headersSent')
const writableFinishedGetter = getter<boolean>(proto, 'writableFinished')
const requestHeadersGetter = getter<IncomingHttpHeaders>(IncomingMessage.prototype, 'headers')

function getter<T>(of: object, name: string): (this: unknown) => T {
  const descriptor = Object.getOwnPropertyDescriptor(of, name)
  if (typeof descriptor?.get !== 'function') throw new Error(`node:http has no ${name} getter`)
  return descriptor.get as (this: unknown) => T
}

type Res = Pick<ServerResponse, 'setHeader' | 'getHeader' | 'hasHeader' | 'removeHeader'>

export function setHeader(res: Res, name: string, value: number | string | readonly string[]): void {
  if (res instanceof ServerResponse) nodeSetHeader.call(res, name, value)
  else res.setHeader(name, value)
}

export function getHeader(res: Res, name: string): ReturnType<ServerResponse['getHeader']> {
  return res instanceof ServerResponse ? nodeGetHeader.call(res, name) : res.getHeader(name)
}

/** `res.getHeaders()`: a copy of the headers set so far, names in lower case. */
export function getHeaders(res: Pick<ServerResponse, 'getHeaders'>): OutgoingHttpHeaders {
  return res instanceof ServerResponse ? nodeGetHeaders.call(res) : res.getHeaders()
}

export function hasHeader(res: Res, name: string): boolean {
  return res instanceof ServerResponse ? nodeHasHeader.call(res, name) : res.hasHeader(name)
}

export function removeHeader(res: Res, name: string): void {
  if (res instanceof ServerResponse) nodeRemoveHeader.call(res, name)
  else res.removeHeader(name)
}

/** `res.headersSent`. */
export function headersSent(res: { headersSent: boolean }): boolean {
  return res instanceof ServerResponse ? headersSentGetter.call(res) : res.headersSent
}

/** `res.writableFinished`. */
export function writableFinished(res: { writableFinished: boolean }): boolean {
  return res instanceof ServerResponse ? writableFinishedGetter.call(res) : res.writableFinished
}

/** `res.on(event, listener)`. */
export function onResponse(
  res: { on(event: string, listener: (...args: never[]) => void): unknown },
  event: string,
  listener: (this: never, ...args: never[]) => void,
): void {
  if (res instanceof ServerResponse) nodeOn.call(res, event, listener as (...args: unknown[]) => void)
  else res.on(event, listener)
}

/** `req.headers`. */
export function requestHeaders(req: { headers: IncomingHttpHeaders }): IncomingHttpHeaders {
  return req instanceof IncomingMessage ? requestHeadersGetter.call(req) : req.headers
}
