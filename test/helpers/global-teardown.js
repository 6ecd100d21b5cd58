module.exports = async function globalTeardown() {
  const redis = globalThis.__HOTPATH_REDIS__
  if (redis) await redis.destroy()
}
