/**
 * The page in a real headless Chromium under the router's strict CSP: sign in through the
 * form, see numbers and charts, send traffic, see the numbers move; no console error, no CSP
 * violation, and a route label holding <script> shown as text.
 */
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { CHROMIUM, launchChromium } from './chromium'
import { TOKEN } from './fixtures'
import { EVIL_PATH, rawGet, realApp } from './real-app'

/** The little of the DOM the page functions below touch (this suite compiles without the DOM lib). */
type Doc = { document: { getElementById(id: string): { textContent: string | null } | null } }
const available = existsSync(CHROMIUM)

if (!available) {
  const message = `browser.once.test.ts: ${CHROMIUM} is missing, so the page is NOT tested in a browser. Install Debian's chromium.`
  if (process.env.CI === 'true') throw new Error(message)
  console.warn(`SKIPPED — ${message}`)
}

// Skipped only where Debian's chromium is not installed (a developer machine without it);
// the warning above says so loudly, and under CI=true the file throws instead of skipping.
// reason: Debian's chromium is not installed here and this is not a CI run
const describeBrowser = available ? describe : describe.skip // reason: no chromium, see above

describeBrowser('the dashboard page in headless Chromium', () => {
  jest.setTimeout(60_000)
  let world: ReturnType<typeof realApp>
  let server: Server
  let browser: Browser
  let page: Page
  let origin: string
  const consoleErrors: string[] = []

  beforeAll(async () => {
    world = realApp('/performance', { pollInterval: '500ms' })
    server = world.app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text())
    })
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`))
    // Runs before the page's own script; records every CSP violation the browser reports.
    // A string: this suite compiles without the DOM lib. (Init scripts are not subject to the page's CSP.)
    await page.addInitScript(`
      window.__csp = []
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI))
    `)
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
    await world?.close()
  })

  const traffic = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${origin}/api/products/${i % 50}`)
      await res.arrayBuffer()
    }
    await (
      await fetch(`${origin}/api/products`, { headers: { 'accept-encoding': 'identity' } })
    ).arrayBuffer()
    await (await fetch(`${origin}/api/catalog`, { headers: { 'accept-encoding': 'gzip' } })).arrayBuffer()
  }
  const text = (selector: string) => page.locator(selector).first().textContent()

  it('signs in with the token through the form, sees numbers and charts, and sees them change after traffic', async () => {
    await traffic(5)
    expect(await rawGet(world.app, EVIL_PATH)).toBe(200)

    // The bare mount path redirects to the page; before sign-in it is only the form.
    const first = await page.goto(`${origin}/performance`)
    expect(first?.status()).toBe(200)
    expect(page.url()).toBe(`${origin}/performance/`)
    const signInText = (await page.locator('body').textContent()) ?? ''
    expect(signInText).toContain('Sign in')
    expect(signInText).not.toContain('/api/products')
    expect(signInText).not.toContain('evil')
    expect(await page.locator('script').count()).toBe(0)

    await page.fill('#token', TOKEN)
    await Promise.all([page.waitForURL(`${origin}/performance/`), page.click('button[type=submit]')])
    // The session cookie is HttpOnly: the page's script cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('')

    await page.waitForFunction(
      () => (globalThis as unknown as Doc).document.getElementById('kpi-requests')?.textContent !== '–',
    )
    const before = Number(((await text('#kpi-requests')) ?? '').replace(/,/g, ''))
    expect(before).toBeGreaterThanOrEqual(6)
    expect(await text('#status')).toMatch(/^(healthy|warning|critical)$/)
    expect(await text('#kpi-p95')).toMatch(/^\d+(\.\d)? ms$/)
    expect(await page.locator('#chart-rps polyline').count()).toBe(1)
    expect(await page.locator('#chart-latency polyline').count()).toBe(3)
    expect(await page.locator('#chart-hit polyline').count()).toBe(1)
    expect(await page.locator('#slowest tbody tr').count()).toBeGreaterThanOrEqual(3)

    // The hostile label is a table cell's text; nothing was parsed or run.
    const labels = await page.locator('#slowest tbody th').allTextContents()
    expect(labels).toContain(`GET ${EVIL_PATH}`)
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined')
    // Only the two scripts the page ships (app.js and history.js); the label added none.
    expect(await page.locator('script').count()).toBe(2)

    const pointsBefore = await page.locator('#chart-rps polyline').getAttribute('points')
    await traffic(30)
    await page.waitForFunction(
      (n) => {
        const text = (globalThis as unknown as Doc).document.getElementById('kpi-requests')?.textContent ?? ''
        return Number(text.replace(/,/g, '')) >= n
      },
      before + 32,
      { timeout: 10_000 },
    )
    const after = Number(((await text('#kpi-requests')) ?? '').replace(/,/g, ''))
    expect(after).toBeGreaterThanOrEqual(before + 32)
    expect(await page.locator('#chart-rps polyline').getAttribute('points')).not.toBe(pointsBefore)
    expect(await text('#kpi-saved')).not.toBe('–')

    // The runtime panel: event-loop delay, CPU and memory from the profiler's overview.
    await page.waitForFunction(
      () =>
        /%$/.test((globalThis as unknown as Doc).document.getElementById('runtime-cpu')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    )
    expect(await page.locator('#runtime-section').isHidden()).toBe(false)
    expect(await text('#runtime-loop')).toMatch(/^\d+(\.\d)? ms · \d+(\.\d)? ms · \d+(\.\d)? ms$/)
    expect(await text('#runtime-cpu')).toMatch(/^\d+(\.\d)?%$/)
    expect(await text('#runtime-rss')).toMatch(/^\d+(\.\d)? MB$/)
    expect(await text('#runtime-heap')).toMatch(/^\d+(\.\d)? MB of \d+(\.\d)? MB$/)

    expect(await page.evaluate('window.__csp')).toEqual([])
    expect(consoleErrors).toEqual([])
  })

  it('signing out returns to the form, and the JSON endpoints answer 401 again', async () => {
    await Promise.all([page.waitForURL(`${origin}/performance/`), page.click('#sign-out button')])
    await page.waitForSelector('#token')
    const status = await page.evaluate(`fetch('dashboard').then((r) => r.status)`)
    expect(status).toBe(401)
    // The 401 above is an expected network answer; nothing else may have been logged.
    expect(consoleErrors.filter((e) => !e.includes('401'))).toEqual([])
    expect(await page.evaluate('window.__csp')).toEqual([])
  })
})
