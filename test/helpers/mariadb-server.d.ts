export function startMariadb(): Promise<unknown>
export function hasMariadb(): boolean
