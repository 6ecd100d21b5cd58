import type { ShapeUse } from './usage'

/**
 * Per-request query summaries for `@hotpath/profiler/testing`, under a registered symbol on the
 * middleware (found in an app's router stack). Nothing is built unless someone observes.
 */
export const OBSERVE: unique symbol = Symbol.for('hotpath.profiler.observe') as never

export interface ObservedShape {
  shape: string
  driver: string
  count: number
  /** Repeats with the same parameters (runs beyond the first). */
  duplicates: number
  callSites: string[]
}

export interface ObservedRequest {
  method: string
  url: string
  route: string
  queries: number
  /** The profiler's `nPlusOneThreshold`: a shape run this often in one request is an N+1. */
  nPlusOneThreshold: number
  shapes: ObservedShape[]
}

export type Observer = (request: ObservedRequest) => void

export function createObservers(nPlusOneThreshold: number) {
  const observers = new Set<Observer>()
  return {
    active: () => observers.size > 0,
    add(observer: Observer): () => void {
      observers.add(observer)
      return () => observers.delete(observer)
    },
    notify(
      req: object,
      route: string,
      state: { queries: Map<unknown, ShapeUse> | null; queryCount: number },
    ) {
      const r = req as { method?: string; originalUrl?: string; url?: string }
      const shapes: ObservedShape[] = []
      for (const use of state.queries?.values() ?? []) {
        shapes.push({
          shape: use.shape.shape,
          driver: use.driver,
          count: use.count,
          duplicates: use.dupes,
          callSites: [...(use.sites ?? [])],
        })
      }
      const summary: ObservedRequest = {
        method: r.method ?? '',
        url: (r.originalUrl ?? r.url ?? '').split('?')[0] as string,
        route,
        queries: state.queryCount,
        nPlusOneThreshold,
        shapes,
      }
      for (const o of [...observers]) {
        try {
          o(summary)
        } catch {
          // An observer must never break recording.
        }
      }
    },
  }
}
