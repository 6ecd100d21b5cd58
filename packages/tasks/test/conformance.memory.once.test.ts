import { createTasks, MemoryEngine, type Tasks } from '../src'
import { conformance } from './conformance'

const made: Tasks[] = []
afterEach(async () => {
  await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 200 })))
})

conformance('memory engine', (options) => {
  const tasks = createTasks({ ...options, engine: new MemoryEngine() })
  made.push(tasks)
  return tasks
})
