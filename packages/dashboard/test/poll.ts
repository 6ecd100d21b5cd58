import type { Page } from 'playwright-core'

/**
 * Waits until `expression` is truthy in the page. `page.waitForFunction` with a string polls by
 * `eval` inside the page, which the dashboard's strict CSP (no 'unsafe-eval') refuses as soon as
 * the first check fails; `page.evaluate` goes through the DevTools protocol, which CSP does not
 * govern. So the polling happens here.
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await page.evaluate(expression)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting in the page for: ${expression}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
