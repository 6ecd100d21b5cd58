import Redis, { Cluster } from 'ioredis'
import {
  describeRedis,
  type RedisClusterHandle,
  redisUrl,
  startRedisCluster,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { RedisStore } from '../src'
import { makeClock, storeContract } from './contract'

describeRedis('RedisStore contract', () => {
  let client: Redis
  storeContract(
    'RedisStore on a standalone Redis',
    async () => {
      client = new Redis(redisUrl())
      const clock = makeClock()
      const store = new RedisStore({
        client,
        prefix: uniquePrefix('rl-contract'),
        now: clock.now,
        commandTimeout: 2000,
      })
      return { store, clock }
    },
    async () => {
      await client.quit()
    },
  )

  let cluster: RedisClusterHandle
  let clusterClient: Cluster
  storeContract(
    'RedisStore on a 3-master Redis Cluster',
    async () => {
      cluster = await startRedisCluster()
      clusterClient = new Cluster(cluster.nodes)
      const clock = makeClock()
      const store = new RedisStore({
        client: clusterClient,
        prefix: uniquePrefix('rl-cluster'),
        now: clock.now,
        commandTimeout: 2000,
      })
      return { store, clock }
    },
    async () => {
      await clusterClient.quit()
      await cluster.stop()
    },
  )
})
