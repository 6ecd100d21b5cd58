import Redis from 'ioredis'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { defineScripts } from '../src'

describeRedis('defineScripts on a real Redis', () => {
  let client: Redis
  beforeAll(() => {
    client = new Redis(redisUrl(), { lazyConnect: false, maxRetriesPerRequest: 1 })
  })
  afterAll(async () => {
    await client.quit()
  })

  it('defines a script that still runs after SCRIPT FLUSH', async () => {
    defineScripts(client, { hotpathIncr: { keys: 1, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" } })
    const key = `${uniquePrefix('core')}counter`
    const run = (
      client as unknown as { hotpathIncr(key: string, by: number): Promise<number> }
    ).hotpathIncr.bind(client)
    expect(await run(key, 2)).toBe(2)
    await client.script('FLUSH')
    expect(await run(key, 3)).toBe(5)
    await client.del(key)
  })

  it('leaves a script already defined on the client alone', () => {
    const before = (client as unknown as Record<string, unknown>).hotpathIncr
    defineScripts(client, { hotpathIncr: { keys: 1, lua: 'return 0' } })
    expect((client as unknown as Record<string, unknown>).hotpathIncr).toBe(before)
  })
})
