import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { BullMQEngine, createTasks, type Tasks } from '../src'
import { conformance } from './conformance'

const made: Tasks[] = []
afterEach(async () => {
  await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 200 })))
})

describeRedis('BullMQ engine on a real redis-server', () => {
  const url = new URL(redisUrl() || 'redis://127.0.0.1:6379')
  conformance('BullMQ engine', (options) => {
    const engine = new BullMQEngine({
      connection: { host: url.hostname, port: Number(url.port) },
      prefix: uniquePrefix('tasks').slice(0, -1),
      queueName: 'conformance',
    })
    const tasks = createTasks({ logger: { warn: () => {}, error: () => {} }, ...options, engine })
    made.push(tasks)
    return tasks
  })
})
