/**
 * Idempotent, reversible method wraps shared by every profiler in the process. The wrap's state
 * lives on the wrapped object itself under a registered symbol (so two copies of this package,
 * or two profilers, find the same wrap): one wrapper per method, a list of sinks, and the
 * original method to put back when the last sink leaves.
 */
const WRAPS = Symbol.for('hotpath.profiler.wraps')

// biome-ignore lint/suspicious/noExplicitAny: wrapped methods keep their own `this` and arguments.
export type Method = (this: any, ...args: any[]) => unknown

interface Wrap<S> {
  readonly original: Method
  readonly wrapper: Method
  readonly sinks: S[]
}

type Holder = { [WRAPS]?: Map<string, Wrap<unknown>> } & Record<string, unknown>

/**
 * Adds `sink` to the wrap of `target[method]`, creating the wrap with `make(original, sinks)` on
 * first use (the wrapper reads `sinks` live, so later sinks join it). Adding the same sink twice
 * is a no-op. Returns the undo, which removes the sink and, with none left, restores the method.
 */
export function addWrap<S>(
  target: object,
  method: string,
  sink: S,
  make: (original: Method, sinks: readonly S[]) => Method,
): () => void {
  const holder = target as Holder
  let wraps = Object.hasOwn(holder, WRAPS) ? holder[WRAPS] : undefined
  if (wraps === undefined) {
    wraps = new Map()
    Object.defineProperty(holder, WRAPS, { value: wraps, configurable: true })
  }
  let wrap = wraps.get(method) as Wrap<S> | undefined
  if (wrap === undefined) {
    const original = holder[method]
    if (typeof original !== 'function') return () => {}
    const sinks: S[] = []
    const wrapper = make(original as Method, sinks)
    Object.defineProperty(wrapper, 'name', { value: (original as Method).name })
    wrap = { original: original as Method, wrapper, sinks }
    wraps.set(method, wrap as Wrap<unknown>)
    holder[method] = wrapper
  }
  if (!wrap.sinks.includes(sink)) wrap.sinks.push(sink)
  const current = wrap
  return () => {
    const i = current.sinks.indexOf(sink)
    if (i === -1) return
    current.sinks.splice(i, 1)
    if (current.sinks.length > 0) return
    wraps.delete(method)
    // Put the original back only if nobody wrapped over us since; otherwise our wrapper stays in
    // their chain and passes straight through with no sinks.
    if (holder[method] === current.wrapper) holder[method] = current.original
  }
}

/** The object on `proto`'s chain that owns `method` (where a wrap must go to see every caller). */
export function ownerOf(proto: object | null, method: string): object | undefined {
  let p = proto
  while (p !== null && p !== Object.prototype) {
    if (Object.hasOwn(p, method)) return p
    p = Object.getPrototypeOf(p)
  }
  return undefined
}
