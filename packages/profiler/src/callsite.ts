import * as path from 'node:path'

/** Frames of this package (src under ts-jest, dist when installed) are never the call site. */
const OWN_DIR = __dirname.endsWith(`${path.sep}drivers`) ? path.dirname(__dirname) : __dirname
/**
 * Frames taken first, and at most, below the driver call (`below`: the profiler's frames above
 * it are not collected at all). V8's cost of a capture grows with the frames it collects (~1 µs
 * a frame under load), and the application frame is usually the first or second there (the
 * driver wrap, then the caller): a capture of 6 finds it; only a deeper one (an ORM between the
 * app and the driver) takes the 40 again.
 */
const SHORT = 6
const FRAMES = 40
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/
/** Formatted sites kept per call-site reader (a code position formats the same way every time). */
const MAX_MEMO = 512

/** The part of V8's structured stack frame (`CallSite`) read here. */
interface Frame {
  getFileName(): string | null | undefined
  getPosition?(): number
  getFunctionName(): string | null
  getLineNumber(): number | null
  getColumnNumber(): number | null
}

type Prepare = (error: Error, frames: Frame[]) => unknown

/** What one capture found: the site, and whether the stack ended within the frames taken. */
interface Found {
  site: string | undefined
  whole: boolean
  /** No frame at all: `below` was not on the stack. */
  empty: boolean
}

/** Reads the application frame that called `below` (or, when `below` is not on the stack, that called the reader). */
// biome-ignore lint/complexity/noBannedTypes: any function on the stack marks where the frames start.
export type CallSites = (below?: Function) => string | undefined

/**
 * Returns the reader of the application frame that ran a query: the first stack frame outside
 * node_modules, Node's internals and this package, as `fn (file:line:col)` with the file
 * relative to the working directory. The profiler reads it only for the 2nd and 3rd run of a
 * shape in a request, never per query.
 *
 * It was most of an N+1 request's profiling on a real app: formatting every captured frame into
 * the `stack` string and parsing it back was ~50 µs a capture under load against PostgreSQL. So
 * the frames are read structured (V8's `CallSite`s, through `Error.prepareStackTrace` for the
 * one capture), from the driver call down (`below`), and only the application frame is
 * formatted, by whatever formats stacks in this process (Node's own, with source maps under
 * `--enable-source-maps`; source-map-support under ts-node), so positions are the app's own. A
 * code position formats the same way every time, so its site is kept (bounded) and the next
 * capture at that position formats nothing.
 */
export function createCallSites(): CallSites {
  const files = new Map<string, boolean>()
  /** Per file (V8 hands out one string per script), per source position: the formatted site. */
  const sites = new Map<string, Map<number, string | undefined>>()
  let kept = 0

  const application = (file: string): boolean => {
    let yes = files.get(file)
    if (yes === undefined) {
      yes = isApplication(file)
      if (files.size >= MAX_MEMO) files.clear()
      files.set(file, yes)
    }
    return yes
  }

  const format = (
    frame: Frame,
    file: string,
    previous: Prepare | undefined,
    error: Error,
  ): string | undefined => {
    const position = typeof frame.getPosition === 'function' ? frame.getPosition() : undefined
    if (position === undefined) return formatted(frame, file, previous, error)
    let inFile = sites.get(file)
    if (inFile?.has(position)) return inFile.get(position)
    const site = formatted(frame, file, previous, error)
    if (kept >= MAX_MEMO) {
      sites.clear()
      kept = 0
      inFile = undefined
    }
    if (inFile === undefined) {
      inFile = new Map()
      sites.set(file, inFile)
    }
    inFile.set(position, site)
    kept++
    return site
  }

  /** Structured frames, read through the installed formatter `previous`. */
  // biome-ignore lint/complexity/noBannedTypes: see CallSites.
  const capture = (frames: number, previous: Prepare, below: Function): Found => {
    const found: Found = { site: undefined, whole: false, empty: false }
    const mine = (error: Error, trace: Frame[]): string => {
      found.whole = trace.length < frames
      found.empty = trace.length === 0
      for (const frame of trace) {
        const file = frame.getFileName()
        if (typeof file !== 'string' || !application(file)) continue
        const site = format(frame, file, previous, error)
        if (site === undefined) continue
        found.site = site
        found.whole = true
        break
      }
      return ''
    }
    // A formatter that cannot be replaced (a read-only or accessor property): the text, then.
    try {
      Error.prepareStackTrace = mine as never
    } catch {
      return fromText(frames, below)
    }
    if (Error.prepareStackTrace !== (mine as never)) return fromText(frames, below)
    const limit = Error.stackTraceLimit
    const holder: { stack?: unknown } = {}
    try {
      Error.stackTraceLimit = frames
      Error.captureStackTrace(holder, below)
      // Reading `stack` is what runs the prepare above (V8 formats lazily).
      void holder.stack
    } catch {
      // A call site is a hint: a stack that cannot be read gives none.
    } finally {
      restore(previous, limit)
    }
    return found
  }

  /** The `stack` text as the process formats it, parsed back frame by frame. */
  // biome-ignore lint/complexity/noBannedTypes: see CallSites.
  const fromText = (frames: number, below: Function): Found => {
    const holder: { stack?: unknown } = {}
    const limit = Error.stackTraceLimit
    try {
      Error.stackTraceLimit = frames
      Error.captureStackTrace(holder, below)
      const lines = typeof holder.stack === 'string' ? holder.stack.split('\n') : []
      for (let i = 1; i < lines.length; i++) {
        const found = fromLine(lines[i] as string)
        if (found !== undefined) return { site: found, whole: true, empty: false }
      }
      return { site: undefined, whole: lines.length - 1 < frames, empty: lines.length <= 1 }
    } catch {
      return { site: undefined, whole: true, empty: false }
    } finally {
      restore(undefined, limit)
    }
  }

  // biome-ignore lint/complexity/noBannedTypes: see CallSites.
  const read = (frames: number, below: Function): Found => {
    // No formatter on this realm's Error (jest, whose source maps are applied by the main
    // realm's; Node releases before Error.prepareStackTrace was exposed): the formatted text.
    const previous = Error.prepareStackTrace as Prepare | undefined
    return typeof previous === 'function' ? capture(frames, previous, below) : fromText(frames, below)
  }

  // biome-ignore lint/complexity/noBannedTypes: see CallSites.
  return function callSite(below?: Function): string | undefined {
    let start = below ?? callSite
    let first = read(SHORT, start)
    if (first.empty && start !== callSite) {
      start = callSite
      first = read(SHORT, start)
    }
    if (first.site !== undefined || first.whole) return first.site
    return read(FRAMES, start).site
  }
}

/** Puts back what a capture changed (`previous` only when the formatter was swapped), throwing nothing. */
function restore(previous: Prepare | undefined, limit: number): void {
  try {
    if (previous !== undefined) Error.prepareStackTrace = previous as never
  } catch {
    // Read-only since: nothing of ours to take back.
  }
  try {
    if (Error.stackTraceLimit !== limit) Error.stackTraceLimit = limit
  } catch {
    // The same for a read-only limit.
  }
}

/** One frame as `fn (file:line:col)`, formatted by the process's stack formatter when there is one. */
function formatted(
  frame: Frame,
  file: string,
  previous: Prepare | undefined,
  error: Error,
): string | undefined {
  if (typeof previous === 'function') {
    const text = previous(error, [frame])
    const line = typeof text === 'string' ? text.split('\n')[1] : undefined
    const m = line === undefined ? null : FRAME.exec(line)
    if (m !== null) return siteOf(m)
  }
  const lineNo = frame.getLineNumber()
  const column = frame.getColumnNumber()
  if (lineNo === null || column === null) return undefined
  return site(frame.getFunctionName() ?? undefined, file, String(lineNo), String(column))
}

/** One formatted frame (`    at fn (file:line:col)`) as a site, when it is an application frame. */
function fromLine(line: string): string | undefined {
  const m = FRAME.exec(line)
  return m === null ? undefined : siteOf(m)
}

/** A `FRAME` match as a site. */
function siteOf(m: RegExpExecArray): string | undefined {
  return site(m[1], m[2] as string, m[3] as string, m[4] as string)
}

function site(fn: string | undefined, file: string, lineNo: string, column: string): string | undefined {
  // A source map may point the frame elsewhere (into a dependency's sources): judged again.
  if (!isApplication(file)) return undefined
  const where = `${relative(file)}:${lineNo}:${column}`
  return fn === undefined || fn === '' ? where : `${fn} (${where})`
}

function isApplication(file: string): boolean {
  if (file.startsWith('node:') || file.startsWith('internal/') || !file.includes('/')) return false
  if (file.includes(`${path.sep}node_modules${path.sep}`)) return false
  const local = file.startsWith('file://') ? file.slice(7) : file
  return !local.startsWith(OWN_DIR + path.sep)
}

function relative(file: string): string {
  const local = file.startsWith('file://') ? file.slice(7) : file
  const rel = path.relative(process.cwd(), local)
  return rel.startsWith('..') ? local : rel
}
