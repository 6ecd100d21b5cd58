/** The logger seam every package accepts; `console` fits it. */
export interface Logger {
  warn(message: string, ...meta: unknown[]): void
  error(message: string, ...meta: unknown[]): void
}

export const consoleLogger: Logger = {
  warn: (message, ...meta) => console.warn(message, ...meta),
  error: (message, ...meta) => console.error(message, ...meta),
}

export interface OnceLogger extends Logger {
  /** Logs `message` under `code` only the first time this instance sees that code. */
  warnOnce(code: string, message: string, ...meta: unknown[]): void
  errorOnce(code: string, message: string, ...meta: unknown[]): void
  /** Allows `code` to be logged again (e.g. a new outage after recovery). */
  rearm(code: string): void
}

/**
 * Wraps a user logger so one instance logs each coded condition once.
 * A logger that throws never breaks the request that triggered it.
 */
export function createLogger(logger: Logger | undefined = consoleLogger): OnceLogger {
  const seen = new Set<string>()
  const safe = (level: 'warn' | 'error', message: string, meta: unknown[]) => {
    try {
      logger[level](message, ...meta)
    } catch {
      // A broken logger must not turn a warning into an outage.
    }
  }
  return {
    warn: (message, ...meta) => safe('warn', message, meta),
    error: (message, ...meta) => safe('error', message, meta),
    warnOnce(code, message, ...meta) {
      if (seen.has(code)) return
      seen.add(code)
      safe('warn', `[${code}] ${message}`, meta)
    },
    errorOnce(code, message, ...meta) {
      if (seen.has(code)) return
      seen.add(code)
      safe('error', `[${code}] ${message}`, meta)
    },
    rearm(code) {
      seen.delete(code)
    },
  }
}
