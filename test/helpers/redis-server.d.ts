export function startRedis(options?: { port?: number; args?: string[] }): Promise<unknown>
export function startRedisCluster(masters?: number): Promise<unknown>
export function redisServerPath(): string | null
export function freePort(): Promise<number>
