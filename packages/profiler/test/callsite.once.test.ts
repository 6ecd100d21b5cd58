import * as path from 'node:path'
import { createCallSites } from '../src/callsite'

const FILE = 'packages/profiler/test/callsite.once.test.ts'
type Prepare = (error: Error, frames: NodeJS.CallSite[]) => unknown

/** The line `new Error()` was made on, read the way this process formats stacks. */
function lineOf(error: Error): number {
  const line = String(error.stack).split('\n')[1] ?? ''
  return Number(/:(\d+):\d+\)?$/.exec(line)?.[1])
}

describe('call sites', () => {
  const installed = Error.prepareStackTrace
  afterEach(() => {
    Error.prepareStackTrace = installed
  })

  it('names the application frame that asked, relative to the working directory', () => {
    const callSite = createCallSites()
    function loadOrders() {
      return [callSite(), lineOf(new Error())] as const
    }
    const [site, line] = loadOrders()
    expect(site).toMatch(new RegExp(`^loadOrders \\(${FILE.replace(/\./g, '\\.')}:${line}:\\d+\\)$`))
  })

  it.each([
    [
      'with a formatter',
      (frames: NodeJS.CallSite[]) => `Error\n    at ${frames.map(String).join('\n    at ')}`,
    ],
    ['from the text', undefined],
  ])(
    'starts below the given frame %s, and above the reader when that frame is not on the stack',
    (_name, prepare) => {
      const callSite = createCallSites()
      Error.prepareStackTrace = (
        prepare === undefined ? undefined : (_e: Error, f: NodeJS.CallSite[]) => prepare(f)
      ) as never
      function driverEntry() {
        return callSite(driverEntry)
      }
      function caller() {
        return driverEntry()
      }
      function elsewhere() {
        return callSite(() => 'not on the stack')
      }
      expect(caller()).toMatch(/^caller \(/)
      expect(elsewhere()).toMatch(/^elsewhere \(/)
    },
  )

  it('leaves Error.prepareStackTrace and Error.stackTraceLimit as they were', () => {
    const callSite = createCallSites()
    const prepare: Prepare = (error) =>
      `${String(error)}\n    at x (${path.join(process.cwd(), 'app.js')}:1:1)`
    Error.prepareStackTrace = prepare as never
    const limit = Error.stackTraceLimit
    callSite()
    expect(Error.prepareStackTrace).toBe(prepare)
    expect(Error.stackTraceLimit).toBe(limit)
  })

  it("formats the frame with the process's stack formatter (source maps), one frame only", () => {
    const callSite = createCallSites()
    const given: number[] = []
    Error.prepareStackTrace = ((_error: Error, frames: NodeJS.CallSite[]) => {
      given.push(frames.length)
      return `Error\n    at mapped (${path.join(process.cwd(), 'src', 'orders.ts')}:7:3)`
    }) as never
    expect(callSite()).toBe(`mapped (${path.join('src', 'orders.ts')}:7:3)`)
    expect(given).toEqual([1])
  })

  it('takes the next frame when the formatter maps one into a dependency', () => {
    const callSite = createCallSites()
    let calls = 0
    Error.prepareStackTrace = ((_error: Error, frames: NodeJS.CallSite[]) => {
      calls++
      const where =
        calls === 1 ? path.join('/srv', 'node_modules', 'orm', 'index.js') : path.join('/srv', 'app.js')
      return `Error\n    at f${calls} (${where}:${frames[0]?.getLineNumber()}:1)`
    }) as never
    function inner() {
      return callSite()
    }
    function outer() {
      return inner()
    }
    expect(outer()).toMatch(/^f2 \(\/srv\/app\.js:\d+:1\)$/)
    expect(calls).toBe(2)
  })

  it("reads the stack's text when this realm's Error has no formatter (as under jest)", () => {
    const callSite = createCallSites()
    Error.prepareStackTrace = undefined as never
    function plain() {
      return [callSite(), lineOf(new Error())] as const
    }
    const [site, line] = plain()
    expect(site).toMatch(new RegExp(`^plain \\(${FILE.replace(/\./g, '\\.')}:${line}:\\d+\\)$`))
  })

  it('formats the frame itself when the formatter returns no text', () => {
    const callSite = createCallSites()
    Error.prepareStackTrace = (() => ({ not: 'text' })) as never
    function own() {
      return callSite()
    }
    expect(own()).toMatch(new RegExp(`^own \\(${FILE.replace(/\./g, '\\.')}:\\d+:\\d+\\)$`))
  })

  it('formats a code position once, and each reader keeps its own memo', () => {
    const first = createCallSites()
    const second = createCallSites()
    let calls = 0
    Error.prepareStackTrace = (() => {
      calls++
      return `Error\n    at loop (${path.join(process.cwd(), 'loop.js')}:3:9)`
    }) as never
    const seen: Array<string | undefined> = []
    for (let i = 0; i < 3; i++) seen.push(first())
    expect(seen).toEqual(['loop (loop.js:3:9)', 'loop (loop.js:3:9)', 'loop (loop.js:3:9)'])
    expect(calls).toBe(1)
    expect(second()).toBe('loop (loop.js:3:9)')
    expect(calls).toBe(2)
  })

  it('gives no site, and throws nothing, when the formatter throws', () => {
    const callSite = createCallSites()
    const prepare = () => {
      throw new Error('formatter broke')
    }
    Error.prepareStackTrace = prepare as never
    expect(callSite()).toBeUndefined()
    expect(Error.prepareStackTrace).toBe(prepare)
  })

  it('throws nothing when Error.prepareStackTrace cannot be replaced', () => {
    const callSite = createCallSites()
    const prepare = (error: Error) =>
      `${String(error)}\n    at fixed (${path.join(process.cwd(), 'fixed.js')}:2:5)`
    const own = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')
    Object.defineProperty(Error, 'prepareStackTrace', { value: prepare, writable: false, configurable: true })
    try {
      function frozen() {
        return callSite()
      }
      // The stack still reads through the installed formatter, so the site is still found.
      expect(frozen()).toBe('fixed (fixed.js:2:5)')
      expect(Error.prepareStackTrace).toBe(prepare)
    } finally {
      if (own === undefined) delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace
      else Object.defineProperty(Error, 'prepareStackTrace', own)
    }
  })
})
