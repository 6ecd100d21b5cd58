/**
 * The tasks panel in a real headless Chromium under the router's strict CSP: running, queued and
 * failed tasks with progress bars, percentiles per name, a task name holding <script> shown as
 * text, and the Cancel button cancelling a running task through DELETE /tasks/:id.
 */
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTasks, type Tasks } from '@hotpath/tasks'
import type { Browser, Page } from 'playwright-core'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { CHROMIUM, launchChromium } from './chromium'
import { BEARER, memoryLogger, ROOMY_LIMITS, TOKEN } from './fixtures'
import { waitInPage } from './poll'

const available = existsSync(CHROMIUM)
if (!available) {
  const message = `tasks-browser.once.test.ts: ${CHROMIUM} is missing, so the tasks panel is NOT tested in a browser.`
  if (process.env.CI === 'true') throw new Error(message)
  console.warn(`SKIPPED — ${message}`)
}
// Skipped only where Debian's chromium is not installed; under CI=true the file throws instead.
// reason: Debian's chromium is not installed here and this is not a CI run
const describeBrowser = available ? describe : describe.skip // reason: no chromium, see above

const EVIL = '<script>window.__pwned=1</script>'

describeBrowser('the tasks panel in headless Chromium', () => {
  jest.setTimeout(60_000)
  let tasks: Tasks
  let server: Server
  let browser: Browser
  let page: Page
  let origin: string
  let running = ''
  const consoleErrors: string[] = []
  const failed: string[] = []

  beforeAll(async () => {
    tasks = createTasks({ concurrency: 2 })
    tasks.define(EVIL, async (_d, { progress, signal }) => {
      progress(40, 'halfway-ish')
      while (!signal.aborted) await new Promise((r) => setTimeout(r, 10))
    })
    tasks.define('broken', async () => {
      throw Object.assign(new Error('disk full'), { code: 'E_DISK' })
    })
    tasks.define('quick', async () => 1)
    running = (await tasks.submit(EVIL)).id
    await tasks.submit('broken')
    await tasks.submit('quick')
    const app = express()
    app.use(
      '/performance',
      dashboard({
        auth: { token: TOKEN },
        sources: { tasks },
        rateLimit: ROOMY_LIMITS,
        logger: memoryLogger().logger,
        pollInterval: '500ms',
      }),
    )
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await launchChromium()
    page = await browser.newPage({ extraHTTPHeaders: { Authorization: BEARER } })
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text())
    })
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`))
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`)
    })
    await page.addInitScript(`
      window.__csp = []
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI))
    `)
    await page.goto(`${origin}/performance/`)
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
    await tasks?.close({ drain: false, timeout: 100 })
  })

  it('shows the running task with a progress bar at its progress, its name as text', async () => {
    await page.waitForSelector('#tasks-section:not([hidden]) #tasks-active progress')
    const bar = await page.$eval('#tasks-active progress', (el) => (el as unknown as { value: number }).value)
    expect(bar).toBe(40)
    const text = await page.$eval('#tasks-active', (el) => el.textContent ?? '')
    expect(text).toContain(`${EVIL} · ${running}`)
    expect(text).toContain('halfway-ish')
    expect(await page.evaluate('window.__pwned')).toBeUndefined()
  })

  it('shows the failed task with its error code and a Retry button', async () => {
    const text = await page.$eval('#tasks-active', (el) => el.textContent ?? '')
    expect(text).toContain('E_DISK: disk full')
    expect(text).toContain('Retry')
  })

  it('shows queue-wait and run-time percentiles per task name', async () => {
    await waitInPage(page, `(document.getElementById('tasks-names')?.textContent ?? '').includes('quick')`)
    const text = await page.$eval('#tasks-names', (el) => el.textContent ?? '')
    expect(text).toContain('broken')
    expect(await page.$eval('#tasks-counts', (el) => el.textContent ?? '')).toContain('1 running')
  })

  it('cancels the running task from its Cancel button', async () => {
    await page.click('#tasks-active button:text("Cancel")')
    await waitInPage(page, `!(document.getElementById('tasks-active')?.textContent ?? '').includes('Cancel')`)
    expect((await tasks.get(running))?.state).toBe('cancelled')
  })

  it('fails no tasks request and logs no page error or CSP violation', async () => {
    expect(await page.evaluate('window.__csp')).toEqual([])
    expect(failed.filter((f) => f.includes('/tasks'))).toEqual([])
    // Other panels' requests are their own suites' business; this one owns only /tasks.
    expect(consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([])
  })
})
