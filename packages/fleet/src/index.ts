export { decodePairs, encodePairs, Merger } from './codec'
export { fleet } from './fleet'
export type { AlertEvent, AlertPredicate, AlertRule, Fleet, FleetOptions } from './types'
