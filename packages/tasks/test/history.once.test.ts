import { createTasks, MemoryEngine, type TaskInfo, type Tasks } from '../src'
import { Ring } from '../src/queue'
import { until } from './conformance'

const made: Tasks[] = []
afterEach(async () => {
  await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 200 })))
})

/** A memory engine with retention.count `count`, a `noop` task and a `flaky` one that fails on odd data. */
function setup(count: number) {
  const engine = new MemoryEngine()
  const tasks = createTasks({ engine, concurrency: 10, retention: { count } })
  made.push(tasks)
  tasks.define('noop', (i: number) => i)
  tasks.define('flaky', (i: number) => {
    if (i % 2 === 1) throw new Error('odd')
    return i
  })
  const ids: string[] = []
  /** Submits `n` tasks (names and data from `pick`) in batches of 100, each run to its end. */
  const run = async (n: number, pick: (i: number) => [string, number] = (i) => ['noop', i]) => {
    for (let i = 0; i < n; i++) {
      const [name, data] = pick(ids.length)
      ids.push((await tasks.submit(name, data)).id)
      if (i % 100 === 99 || i === n - 1) {
        await until(
          async () => tasks.stats().counts,
          (c) => c.pending === 0 && c.running === 0,
        )
      }
    }
  }
  return { engine, tasks, ids, run }
}

async function allPages(tasks: Tasks, query: Parameters<Tasks['list']>[0]): Promise<string[]> {
  const out: string[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 1000; pages++) {
    const page = await tasks.list({ ...query, cursor })
    out.push(...page.tasks.map((t: TaskInfo) => t.id))
    if (page.nextCursor === undefined) return out
    cursor = page.nextCursor
  }
  throw new Error('more than 1000 pages')
}

describe('memory engine: history at its bound', () => {
  it('does not grow its indexes after 100 times more tasks than it keeps', async () => {
    const { engine, run } = setup(100)
    await run(100)
    const full = engine.historySizes()
    expect(full.records).toBe(100)
    await run(5_000)
    const mid = engine.historySizes()
    await run(5_000)
    const after = engine.historySizes()
    for (const sizes of [mid, after]) {
      // No forgotten record stays reachable from the creation order…
      expect(sizes.records).toBe(100)
      // …whose free slots are compacted away before they reach 64…
      expect(sizes.orderSlots).toBeLessThan(100 + 64)
      // …and the ring keeps the slots it had when it first filled.
      expect(sizes.finished.completed).toEqual(full.finished.completed)
      // Engine-made ids are found through their seq, not a map.
      expect(sizes.byId).toBe(0)
    }
  })

  it('keeps its id map at the bound when every task comes with an id of its own', async () => {
    const { engine, tasks } = setup(100)
    for (let i = 0; i < 3_000; i++) {
      await tasks.submit('noop', i, { id: `order-${i}` })
      if (i % 100 === 99) {
        await until(
          async () => tasks.stats().counts,
          (c) => c.pending === 0 && c.running === 0,
        )
      }
    }
    expect(engine.historySizes()).toMatchObject({ records: 100, byId: 100 })
    expect((await tasks.get('order-2999'))?.state).toBe('completed')
    expect(await tasks.get('order-2899')).toBeUndefined()
  })

  it('finds a task by an id of its own that looks like an id the engine makes', async () => {
    const { tasks } = setup(100)
    const { id: made } = await tasks.submit('noop', 1)
    // The engine's first id is its prefix and seq 1 in base 36; "zz" is seq 1295, not made yet.
    const lookalike = `${made.slice(0, -1)}zz`
    await tasks.submit('noop', 2, { id: lookalike })
    const done = await until(
      () => tasks.get(lookalike),
      (t) => t?.state === 'completed',
    )
    expect(done?.result).toBe(2)
    expect((await tasks.get(made))?.result).toBe(1)
    expect(await tasks.submit('noop', 3, { id: made })).toEqual({ id: made })
    expect((await tasks.list({ limit: 10 })).tasks.map((t) => t.id)).toEqual([lookalike, made])
  })

  it('keeps each state at its count and lists the survivors newest first across freed slots', async () => {
    const { engine, tasks, ids, run } = setup(40)
    // Completed and failed tasks interleave: evicting the oldest of one state frees slots
    // between the records of the other.
    await run(1_000, (i) => (i % 3 === 0 ? ['noop', i] : ['flaky', i]))
    const sizes = engine.historySizes()
    expect(sizes.orderSlots).toBeGreaterThan(sizes.records)
    expect(sizes.finished.completed?.size).toBe(40)
    expect(sizes.finished.failed?.size).toBe(40)
    const infos = await Promise.all(ids.map((id) => tasks.get(id)))
    const kept = ids.filter((_, i) => infos[i] !== undefined).reverse()
    expect(kept).toHaveLength(80)
    expect(await allPages(tasks, { limit: 7 })).toEqual(kept)
    const failed = kept.filter((id) => infos[ids.indexOf(id)]?.state === 'failed')
    expect(await allPages(tasks, { state: 'failed', limit: 6 })).toEqual(failed)
    const noop = kept.filter((id) => infos[ids.indexOf(id)]?.name === 'noop')
    expect(await allPages(tasks, { name: 'noop', limit: 9 })).toEqual(noop)
  })

  it('continues a page from the next older task when the cursor task was evicted meanwhile', async () => {
    const { tasks, ids, run } = setup(10)
    await run(15, (i) => (i < 5 ? ['flaky', 1] : ['noop', i]))
    const first = await tasks.list({ limit: 10 })
    expect(first.tasks.map((t) => t.id)).toEqual(ids.slice(5).reverse())
    // One more completed task evicts the oldest completed one: the task the cursor names.
    await run(1)
    expect(await tasks.get(ids[5] as string)).toBeUndefined()
    const next = await tasks.list({ limit: 10, cursor: first.nextCursor })
    expect(next.tasks.map((t) => t.id)).toEqual(ids.slice(0, 5).reverse())
    expect(next.nextCursor).toBeUndefined()
  })

  it('evicts the oldest finished task of a state first', async () => {
    const { tasks, ids, run } = setup(3)
    await run(5)
    expect(await tasks.get(ids[0] as string)).toBeUndefined()
    expect(await tasks.get(ids[1] as string)).toBeUndefined()
    expect((await tasks.get(ids[2] as string))?.state).toBe('completed')
    expect(await allPages(tasks, { limit: 2 })).toEqual([ids[4], ids[3], ids[2]])
  })
})

describe('Ring (finished tasks of one state)', () => {
  const fill = (ring: Ring<number>, from: number, to: number) => {
    for (let i = from; i < to; i++) ring.push(i)
  }
  const drain = (ring: Ring<number>) => {
    const out: number[] = []
    for (let v = ring.shift(); v !== undefined; v = ring.shift()) out.push(v)
    return out
  }

  it('keeps its slots when it is pushed and shifted at a fixed size', () => {
    const ring = new Ring<number>()
    fill(ring, 0, 1000)
    const slots = ring.slots
    for (let i = 1000; i < 100_000; i++) {
      ring.push(i)
      ring.shift()
    }
    expect(ring.size).toBe(1000)
    expect(ring.slots).toBe(slots)
    expect(ring.peek()).toBe(99_000)
  })

  it('removes an item from the middle after its head has wrapped around', () => {
    const ring = new Ring<number>()
    fill(ring, 0, 16)
    for (let i = 0; i < 10; i++) ring.shift()
    fill(ring, 16, 24)
    ring.remove(12)
    ring.remove(20)
    expect(drain(ring)).toEqual([10, 11, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23])
  })

  it('gives back slots when it empties and keeps its order', () => {
    const ring = new Ring<number>()
    fill(ring, 0, 4096)
    for (let i = 0; i < 4000; i++) ring.shift()
    expect(ring.slots).toBeLessThanOrEqual(512)
    expect(drain(ring)).toEqual(Array.from({ length: 96 }, (_, i) => 4000 + i))
  })
})
