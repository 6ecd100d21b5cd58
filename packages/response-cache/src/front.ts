import type { IncomingMessage, ServerResponse } from 'node:http'
import { optionError } from '@hotpath/core'
import type { Engine } from './engine'
import { originOf, secondaryKey } from './key'
import { type Config, PKG } from './options'
import type { CacheEntry, FrontApp, StoredValue } from './types'

type ServeHit = (
  entry: CacheEntry,
  key: string,
  req: IncomingMessage,
  res: ServerResponse,
  at: number,
) => void
type Trust = (address: string | undefined, hop: number) => boolean

/**
 * `cache.front(app)`: a plain `http` listener that answers fresh memory-store hits before
 * Express builds its request and runs its router, and hands everything else to `app`. The
 * key, the headers and the body are the same as the middleware's hit; only requests the
 * middleware could have answered without running a route option are served here (no
 * credentials, no custom key parts, no shared store).
 */
export function createFront(cfg: Config, engine: Engine) {
  const serveHit: ServeHit = engine.serveHit
  return function front(app: FrontApp): (req: IncomingMessage, res: ServerResponse) => void {
    if (typeof app !== 'function')
      optionError(PKG, 'front(app) takes the Express app (or any (req, res) listener).')
    const store = cfg.store
    const trust = (): Trust | undefined =>
      typeof app.get === 'function' ? (app.get('trust proxy fn') as Trust | undefined) : undefined
    return function hotpathFront(req: IncomingMessage, res: ServerResponse): void {
      const method = req.method
      const headers = req.headers
      if (
        !store.shared &&
        (method === 'GET' || method === 'HEAD') &&
        headers.authorization === undefined &&
        headers.cookie === undefined
      ) {
        try {
          const primary = engine.primaryKey(originOf(req, trust()), req.url ?? '/', undefined)
          let key = primary
          let value = store.get(primary) as StoredValue | undefined
          if (value !== undefined && value.kind === 'vary') {
            key = secondaryKey(primary, value.fields, headers)
            value = store.get(key) as StoredValue | undefined
          }
          if (value !== undefined && value.kind === 'entry' && value.front) {
            const at = cfg.now()
            if (at < value.expiresAt) {
              serveHit(value, key, req, res, at)
              return
            }
          }
        } catch {
          // Anything unusual is the app's to handle: it runs the full middleware.
        }
      }
      app(req, res)
    }
  }
}
