import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { ASSETS_DIR } from '../src/page'
import { appWith, BEARER, MOUNTS } from './fixtures'

const read = (name: string) => readFileSync(join(ASSETS_DIR, name), 'utf8')

describe.each(MOUNTS)('the page, $name', ({ base }) => {
  const app = appWith(base)

  it('GET / with credentials serves the dashboard HTML', async () => {
    const res = await request(app).get(`${base}/`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.text).toBe(read('index.html'))
  })

  it('GET /assets/app.js serves the script as JavaScript', async () => {
    const res = await request(app).get(`${base}/assets/app.js`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(res.text).toBe(read('app.js'))
  })

  it('GET /assets/app.css serves the stylesheet as CSS', async () => {
    const res = await request(app).get(`${base}/assets/app.css`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/css; charset=utf-8')
    expect(res.text).toBe(read('app.css'))
  })

  it('POST / answers 405 with Allow: GET, HEAD', async () => {
    const res = await request(app).post(`${base}/`).set('Authorization', BEARER)
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD')
  })
})

describe('the bare mount path', () => {
  it('redirects /performance to ./performance/ so relative URLs resolve under the mount', async () => {
    const res = await request(appWith('/performance')).get('/performance')
    expect(res.status).toBe(308)
    expect(res.headers.location).toBe('./performance/')
  })

  it('keeps the query string on the redirect', async () => {
    const res = await request(appWith('/ops/performance')).get('/ops/performance?window=1h')
    expect(res.status).toBe(308)
    expect(res.headers.location).toBe('./performance/?window=1h')
  })

  it('does not redirect when the path already ends with a slash', async () => {
    const res = await request(appWith('/performance')).get('/performance/')
    expect(res.status).toBe(200)
  })
})

describe('the assets are self-contained', () => {
  const html = ['index.html', 'sign-in.html'].map((name) => [name, read(name)] as const)

  it('ships exactly the HTML pages, two scripts and one stylesheet', () => {
    expect(readdirSync(ASSETS_DIR).sort()).toEqual([
      'app.css',
      'app.js',
      'history.js',
      'index.html',
      'sign-in.html',
    ])
  })

  it.each(html)('%s has no inline script, inline style or event handler attribute', (_name, text) => {
    expect(text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i)
    expect(text).not.toMatch(/<style/i)
    expect(text).not.toMatch(/\sstyle=/i)
    expect(text).not.toMatch(/\son[a-z]+=/i)
  })

  it.each(html)('%s uses only relative URLs (no leading slash, no scheme, no CDN)', (_name, text) => {
    const urls = [...text.matchAll(/\s(?:src|href|action)="([^"]*)"/g)].map((m) => m[1] as string)
    expect(urls.length).toBeGreaterThan(0)
    for (const url of urls) expect(url).toMatch(/^(?:[a-z][a-z./-]*|data:,)$/)
  })

  it.each(['app.js', 'history.js'])(
    '%s never writes HTML: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval',
    (name) => {
      const js = read(name)
      expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/)
      expect(js).toContain('textContent')
    },
  )

  it('history.js fetches only relative URLs (history and fleet)', () => {
    const js = read('history.js')
    expect([...js.matchAll(/fetch\(([^,]+),/g)].map((m) => m[1])).toEqual(['url'])
    expect(js).toContain('`history?metric=')
    expect(js).toContain("getJson('fleet')")
    expect(js.replace("'http://www.w3.org/2000/svg'", '')).not.toMatch(/https?:\/\//)
  })

  it('the script fetches only relative URLs', () => {
    const js = read('app.js')
    const fetched = [...js.matchAll(/fetch\(([^,]+),/g)].map((m) => m[1] as string)
    // Every fetch takes a `url` variable built from the relative names checked below, or a
    // relative path literal (no leading slash, no scheme).
    for (const arg of fetched) expect(arg).toMatch(/^(?:url|'[a-z][a-z/]*')$/)
    expect(fetched).toContain('url')
    expect(js).toContain("'dashboard'")
    expect(js).toContain('`dashboard?window=')
    // The SVG namespace is a name, not a fetch.
    expect(js.replace("'http://www.w3.org/2000/svg'", '')).not.toMatch(/https?:\/\//)
  })

  it('the stylesheet loads nothing from elsewhere', () => {
    expect(read('app.css')).not.toMatch(/@import|url\(/)
  })
})
