import { createHash } from 'node:crypto'
import { ipKey, type OnceLogger } from '@hotpath/core'
import type { Request } from 'express'
import { PKG } from './options'

const TRUST_PROXY_TRUE = 'ERR_HOTPATH_RATE_LIMIT_TRUST_PROXY'
const XFF_IGNORED = 'ERR_HOTPATH_RATE_LIMIT_XFF'
const FORWARDED_IGNORED = 'ERR_HOTPATH_RATE_LIMIT_FORWARDED'

/** Which proxy warnings one limiter already gave (shared by its layers). */
export interface ProxyWarnings {
  proxyWarned: boolean
  forwardedWarned: boolean
}

/**
 * Client keys longer than this are stored by their SHA-256: a limiter keyed by a client-chosen
 * header (an API key) would otherwise keep every 4 KB value it is sent, 30 000 of them about
 * 120 MB of heap in a memory store, and as much in Redis.
 */
export const MAX_STORED_KEY = 64

/** The store form of a client key: itself, or a 43-character digest when it is long. */
export function storedKey(key: string): string {
  return key.length <= MAX_STORED_KEY ? key : `#${createHash('sha256').update(key).digest('base64url')}`
}

/**
 * Express's own `req.ip` getter (lib/request.js in 4 and 5 reads `'trust proxy fn'`). An app
 * or adapter that defines its own `ip` on the request or its prototype is answered by it.
 */
function isExpressIpGetter(req: Request): boolean {
  let proto: object | null = Object.getPrototypeOf(req)
  while (proto !== null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'ip')
    if (descriptor !== undefined) {
      return (
        typeof descriptor.get === 'function' &&
        /trust proxy fn/.test(Function.prototype.toString.call(descriptor.get))
      )
    }
    proto = Object.getPrototypeOf(proto)
  }
  return false
}

/**
 * The default key: `req.ip` as the app sees it, IPv6 masked to `ipv6Subnet` bits, IPv4-mapped
 * addresses folded. While `trust proxy` is off and `req.ip` is Express's own getter, it equals
 * the socket's address, which is read directly: that spares proxy-addr's parse of
 * X-Forwarded-For on every request and gives the same answer.
 */
export function createClientKey(
  ipv6Subnet: number,
  warnings: ProxyWarnings,
  log: OnceLogger,
): (req: Request) => string {
  let checkedProto: unknown
  let socketIsIp = false
  let trustOff = false
  let lastAddress: string | undefined
  let lastAddressKey = ''
  // A proxy in front of the app adds its header to every request, so headers are looked at on
  // the first 64 requests and then on one in 64: the warning still comes at once, and a
  // header lookup (~0.5 µs on an Express request) is spared on the others.
  let seen = 0
  const sampled = (): boolean => ++seen <= 64 || (seen & 63) === 0

  const warnXff = (): void => {
    warnings.proxyWarned = true
    log.warnOnce(
      XFF_IGNORED,
      `${PKG}: a request carries X-Forwarded-For but 'trust proxy' is off, so every client behind the proxy shares one rate-limit key. Set app.set('trust proxy', <number of proxies>) if the app runs behind one.`,
    )
  }

  // 'trust proxy' is read once per app (it is set at startup), not on every request.
  const checkApp = (req: Request): void => {
    const trust = req.app?.get?.('trust proxy')
    trustOff = !trust
    socketIsIp = trustOff && isExpressIpGetter(req)
    if (warnings.proxyWarned) return
    if (trust === true) {
      warnings.proxyWarned = true
      log.warnOnce(
        TRUST_PROXY_TRUE,
        `${PKG}: 'trust proxy' is true, so any client can choose its rate-limit key by sending X-Forwarded-For. Set it to the number of proxies in front of the app (app.set('trust proxy', 1)) or their addresses.`,
      )
    } else if (trustOff && req.headers['x-forwarded-for'] !== undefined) warnXff()
  }

  /** RFC 7239 Forwarded is never read by Express's req.ip: behind such a proxy, one key for all. */
  const checkForwarded = (req: Request, address: string | undefined): void => {
    if (req.headers.forwarded === undefined || address !== req.socket?.remoteAddress) return
    warnings.forwardedWarned = true
    log.warnOnce(
      FORWARDED_IGNORED,
      `${PKG}: a request carries a Forwarded header but req.ip is the socket's address (Express reads only X-Forwarded-For), so every client behind that proxy shares one rate-limit key. Have the proxy send X-Forwarded-For and set 'trust proxy', or pass key: (req) => <the client's address>.`,
    )
  }

  return function clientKey(req) {
    // An Express app gives its requests its own prototype: a new prototype is a new app, whose
    // settings are then read (a prototype is one builtin call; `req.app` is a lookup V8 cannot
    // cache on an Express request, see bench/README.md).
    const proto = Object.getPrototypeOf(req) as unknown
    const first = proto !== checkedProto
    if (first) {
      checkedProto = proto
      checkApp(req)
    }
    const address =
      socketIsIp && !Object.hasOwn(req, 'ip')
        ? req.socket?.remoteAddress
        : (req.ip ?? req.socket?.remoteAddress)
    if (first || ((!warnings.proxyWarned || !warnings.forwardedWarned) && sampled())) {
      if (trustOff && !warnings.proxyWarned && req.headers['x-forwarded-for'] !== undefined) warnXff()
      if (!warnings.forwardedWarned) checkForwarded(req, address)
    }
    // The last address's key is kept: a client on a keep-alive connection sends requests in a
    // row, and its address is then not parsed again.
    if (address !== lastAddress || address === undefined) {
      lastAddress = address
      lastAddressKey = ipKey(address, { ipv6Subnet })
    }
    return lastAddressKey
  }
}
