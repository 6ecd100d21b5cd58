import type { Request, Response } from 'express'
import { profiler } from '../src/profiler'
import { RECORD, RequestState } from '../src/timing'
import type { Profiler, ProfilerOptions } from '../src/types'

/** A clock the test moves by hand: durations and window rotation without sleeping. */
export interface FakeClock {
  (): bigint
  advanceMs(ms: number): void
  advanceSeconds(s: number): void
}

export function fakeClock(startNs = 1_000_000_000n): FakeClock {
  let now = startNs
  const clock = (() => now) as FakeClock
  clock.advanceMs = (ms) => {
    now += BigInt(Math.round(ms * 1e6))
  }
  clock.advanceSeconds = (s) => clock.advanceMs(s * 1000)
  return clock
}

/** Profilers made by a test; closed after each test so no sampler timer outlives it. */
const made: Profiler[] = []
export function make(options: ProfilerOptions = {}): Profiler {
  const prof = profiler({ registry: false, ...options })
  made.push(prof)
  return prof
}
export function closeAll(): void {
  for (const p of made.splice(0)) p.close()
}

type Recorder = (req: Request, res: Response, state: RequestState) => void

/**
 * Records one request through the profiler's recording step, as the end of a response would:
 * `durationMs` is measured on `clock`, which is advanced by it.
 */
export function recordDirect(
  prof: Profiler,
  clock: FakeClock,
  req: Partial<Request> & { route?: unknown },
  durationMs: number,
  status = 200,
): void {
  const state = new RequestState(clock(), req)
  clock.advanceMs(durationMs)
  const res = { statusCode: status, headersSent: true, writableFinished: true, getHeader: () => undefined }
  ;(prof as unknown as Record<symbol, Recorder>)[RECORD](req as Request, res as unknown as Response, state)
}

/** A matched Express route as `req.route` carries it (the label is `METHOD baseUrl+path`). */
export function matched(method: string, path: string, baseUrl = ''): Partial<Request> & { route: object } {
  return { method, baseUrl, route: { path } } as Partial<Request> & { route: object }
}

/** Waits (bounded) until `check` holds; for work that ends after the client has its response. */
export async function until(
  check: () => boolean,
  timeoutMs = 2000,
  retry?: () => PromiseLike<unknown>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    if (retry !== undefined) await retry()
    await new Promise((resolve) => setTimeout(resolve, retry === undefined ? 5 : 50))
  }
}
