import type { OnceLogger } from '@hotpath/core'
import type { AlertEvent, AlertRule } from './types'

/** Notifications per rule per hour, beyond which they are dropped (and logged once). */
const MAX_PER_HOUR = 20

/**
 * Sends alert events off the request path: a webhook gets a JSON POST with a deadline, a function
 * is called and guarded. Nothing awaits a notification except `idle()` (for a clean shutdown).
 */
export function createNotifier(timeoutMs: number, log: OnceLogger) {
  const sent = new Map<string, number[]>()
  const pending = new Set<Promise<void>>()

  function allowed(id: string, at: number): boolean {
    const times = (sent.get(id) ?? []).filter((t) => at - t < 3_600_000)
    if (times.length >= MAX_PER_HOUR) {
      log.warnOnce(
        'ERR_HOTPATH_FLEET_ALERT_RATE',
        `@hotpath/fleet: alert ${id} notified ${MAX_PER_HOUR} times this hour; further notifications are dropped.`,
      )
      return false
    }
    times.push(at)
    sent.set(id, times)
    return true
  }

  function send(target: AlertRule['notify'], event: AlertEvent): void {
    if (!allowed(event.id, event.at)) return
    const work = (async () => {
      if (typeof target === 'function') {
        await target(event)
        return
      }
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(timeoutMs),
      })
      if (!res.ok) throw new Error(`webhook answered ${res.status}`)
      await res.arrayBuffer().catch(() => undefined)
    })().catch((err) => {
      log.warnOnce(
        `ERR_HOTPATH_FLEET_NOTIFY_${event.id}`,
        `@hotpath/fleet: the notification of alert ${event.id} failed.`,
        err,
      )
    })
    pending.add(work)
    work.finally(() => pending.delete(work))
  }

  return {
    send,
    idle: async () => {
      await Promise.all([...pending])
    },
  }
}
