export function startPostgres(): Promise<unknown>
export function hasPostgres(): boolean
export function postgresBinDir(): string | null
