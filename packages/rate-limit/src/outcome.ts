import { isPromiseLike, type OnceLogger } from '@hotpath/core'
import type { Request, Response } from 'express'
import { type LayerConfig, PKG } from './options'
import type { Policy, Store } from './types'

const REFUND_FAILED = 'ERR_HOTPATH_RATE_LIMIT_REFUND'

/** Where a request's units were counted, to give them back. */
export interface Counted {
  readonly store: Store
  readonly storeKey: string
  readonly cost: number
}

/**
 * skipFailedRequests / skipSuccessfulRequests: once a counted request's outcome is known (its
 * response finished, or closed before it did), its units go back to the store that counted them.
 */
export function createOutcomeWatcher(
  config: LayerConfig,
  log: OnceLogger,
): (req: Request, res: Response, policy: Policy, counted: Counted) => void {
  const wasSuccessful =
    config.requestWasSuccessful ?? ((_req: Request, res: Response) => res.statusCode < 400)

  const watchOutcome = (req: Request, res: Response, policy: Policy, counted: Counted) => {
    let finished = false
    let settled = false
    const settle = (ok: boolean) => {
      if (settled) return
      settled = true
      if (ok ? !config.skipSuccessfulRequests : !config.skipFailedRequests) return
      try {
        const done = counted.store.refund?.(counted.storeKey, policy, counted.cost)
        if (isPromiseLike(done)) Promise.resolve(done).catch(refundFailed)
      } catch (error) {
        refundFailed(error)
      }
    }
    res.once('finish', () => {
      finished = true
      let ok: boolean | Promise<boolean>
      try {
        ok = wasSuccessful(req, res)
      } catch (error) {
        log.errorOnce(REFUND_FAILED, `${PKG}: requestWasSuccessful threw; the request stays counted.`, error)
        return
      }
      if (isPromiseLike(ok)) {
        Promise.resolve(ok).then(
          (value) => settle(value === true),
          (error: unknown) =>
            log.errorOnce(
              REFUND_FAILED,
              `${PKG}: requestWasSuccessful rejected; the request stays counted.`,
              error,
            ),
        )
      } else settle(ok === true)
    })
    // Closed before the last byte went out: the client did not get its answer, a failure.
    res.once('close', () => {
      if (!finished) settle(false)
    })
  }

  const refundFailed = (error: unknown) => {
    log.errorOnce(
      REFUND_FAILED,
      `${PKG}: giving back a skipped request's units failed; it stays counted.`,
      error,
    )
  }
  return watchOutcome
}
