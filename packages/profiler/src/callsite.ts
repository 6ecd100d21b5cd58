import * as path from 'node:path'

/** Frames of this package (src under ts-jest, dist when installed) are never the call site. */
const OWN_DIR = __dirname.endsWith(`${path.sep}drivers`) ? path.dirname(__dirname) : __dirname
const FRAMES = 40
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/

/**
 * The application frame that ran the query: the first stack frame outside node_modules, Node's
 * internals and this package, as `fn (file:line:col)` with the file relative to the working
 * directory. Taken only for the 2nd and 3rd run of a shape in a request, never per query.
 */
export function callSite(): string | undefined {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = FRAMES
  try {
    Error.captureStackTrace(holder, callSite)
  } finally {
    Error.stackTraceLimit = limit
  }
  const lines = (holder.stack ?? '').split('\n')
  for (let i = 1; i < lines.length; i++) {
    const m = FRAME.exec(lines[i] as string)
    if (m === null) continue
    const file = m[2] as string
    if (!isApplication(file)) continue
    const fn = m[1]
    const where = `${relative(file)}:${m[3]}:${m[4]}`
    return fn === undefined || fn === '' ? where : `${fn} (${where})`
  }
  return undefined
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
