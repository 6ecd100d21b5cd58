const { startRedis, redisServerPath } = require('./redis-server')

// One shared redis-server for every suite of the run; its URL reaches the test workers
// through the environment. Suites that break Redis on purpose start their own.
module.exports = async function globalSetup() {
  if (!redisServerPath()) {
    process.env.HOTPATH_REDIS_URL = ''
    const message =
      'redis-server is not on PATH: the Redis suites will be SKIPPED (apt-get install redis-server).'
    if (process.env.CI === 'true') throw new Error(`${message} CI=true requires them.`)
    console.warn(`\n\n*** ${message} ***\n`)
    return
  }
  const redis = await startRedis()
  globalThis.__HOTPATH_REDIS__ = redis
  process.env.HOTPATH_REDIS_URL = redis.url
}
