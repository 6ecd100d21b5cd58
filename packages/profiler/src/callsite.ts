import * as path from 'node:path'

/** Frames of this package (src under ts-jest, dist when installed) are never the call site. */
const OWN_DIR = __dirname.endsWith(`${path.sep}drivers`) ? path.dirname(__dirname) : __dirname
/**
 * Frames taken first, and at most. V8's cost of a capture grows with the frames it collects
 * (~1 µs a frame here), and a driver call's application frame is usually the sixth or seventh
 * (this package's begin, the driver wrap, then the caller): a capture of 10 finds it; only a
 * deeper one (an ORM between the app and the driver) takes the 40 again.
 */
const SHORT = 10
const FRAMES = 40
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/

/** What one capture found: the site, and whether the stack ended within the frames taken. */
interface Found {
  readonly site: string | undefined
  readonly whole: boolean
}

/**
 * The application frame that ran the query: the first stack frame outside node_modules, Node's
 * internals and this package, as `fn (file:line:col)` with the file relative to the working
 * directory. Taken only for the 2nd and 3rd run of a shape in a request, never per query.
 *
 * It costs most of an N+1 request's profiling on a real app (two 40-frame captures of a deep
 * Express and driver stack were ~150 µs of a 10-query request against PostgreSQL), so it takes
 * 10 frames first and 40 only when those hold no application frame and the stack went on: the
 * same frame is found either way. The `stack` string is read as whatever formats it makes it
 * (source maps under `--enable-source-maps`, ts-node, jest), so positions are the app's own.
 */
export function callSite(): string | undefined {
  const first = capture(SHORT)
  return first.site !== undefined || first.whole ? first.site : capture(FRAMES).site
}

function capture(frames: number): Found {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = frames
  try {
    Error.captureStackTrace(holder, callSite)
  } finally {
    Error.stackTraceLimit = limit
  }
  return fromStackText(typeof holder.stack === 'string' ? holder.stack : '', frames)
}

function fromStackText(stack: string, taken: number): Found {
  const lines = stack.split('\n')
  for (let i = 1; i < lines.length; i++) {
    const site = fromLine(lines[i] as string)
    if (site !== undefined) return { site, whole: true }
  }
  return { site: undefined, whole: lines.length - 1 < taken }
}

/** One formatted frame as `fn (file:line:col)`, when it is an application frame. */
function fromLine(line: string): string | undefined {
  const m = FRAME.exec(line)
  if (m === null) return undefined
  const file = m[2] as string
  if (!isApplication(file)) return undefined
  const fn = m[1]
  const where = `${relative(file)}:${m[3]}:${m[4]}`
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
