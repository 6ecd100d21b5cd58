import { type Browser, chromium } from 'playwright-core'

/** Debian's Chromium, which the browser suites drive (never a browser build of Playwright's own). */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Headless Chromium as the browser suites start it: no sandbox (root), no GPU, and no background
 * networking, which this machine's closed network would refuse at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}
