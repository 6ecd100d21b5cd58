import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HotpathError } from '@hotpath/core'
import type { Request, Response } from 'express'

/** Resolved from the compiled file, so the same code finds them from `src` (tests) and `dist` (published). */
export const ASSETS_DIR = join(__dirname, '..', 'assets')

export interface Asset {
  readonly type: string
  readonly body: Buffer
}

export interface Assets {
  readonly dashboard: Asset
  readonly signIn: Asset
  readonly signInFailed: Asset
  readonly script: Asset
  readonly historyScript: Asset
  readonly style: Asset
}

const HTML = 'text/html; charset=utf-8'

/** The alert is a constant: nothing the client sent is ever echoed into the page. */
const FAILED = '<p class="alert" role="alert">That token is not valid.</p>'

/** Reads the page once, at construction; a missing file is a packaging error worth failing loudly on. */
export function loadAssets(dir: string = ASSETS_DIR): Assets {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8')
    } catch (err) {
      throw new HotpathError(
        'ERR_HOTPATH_DASHBOARD_ASSETS',
        `@hotpath/dashboard: cannot read ${join(dir, name)} (${(err as Error).message}); the package's assets/ folder must ship beside dist/.`,
      )
    }
  }
  const signIn = read('sign-in.html')
  return {
    dashboard: { type: HTML, body: Buffer.from(read('index.html')) },
    signIn: { type: HTML, body: Buffer.from(signIn.replace('<!--alert-->', '')) },
    signInFailed: { type: HTML, body: Buffer.from(signIn.replace('<!--alert-->', FAILED)) },
    script: { type: 'text/javascript; charset=utf-8', body: Buffer.from(read('app.js')) },
    historyScript: { type: 'text/javascript; charset=utf-8', body: Buffer.from(read('history.js')) },
    style: { type: 'text/css; charset=utf-8', body: Buffer.from(read('app.css')) },
  }
}

export function sendAsset(res: Response, asset: Asset, status = 200): void {
  res.status(status)
  res.setHeader('Content-Type', asset.type)
  res.setHeader('Content-Length', String(asset.body.length))
  res.end(asset.body)
}

/**
 * Relative URLs in the page (`assets/app.js`, `dashboard`) resolve against the directory of the
 * page's URL, so the page must be served at `<mount>/`. A bare `<mount>` is redirected with a
 * relative reference (RFC 3986 §4.2), which stays right behind a proxy that adds a prefix.
 */
export function needsSlash(req: Request): string | undefined {
  const url = req.originalUrl
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (path.endsWith('/')) return undefined
  const last = path.slice(path.lastIndexOf('/') + 1)
  return `./${last}/${q === -1 ? '' : url.slice(q)}`
}
