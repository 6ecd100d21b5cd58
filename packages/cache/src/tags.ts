import type { Entry, TagStamp } from './entry'

/** `ok` (valid), `soft` (expired by `expireByTag`, usable as graced), `hard` (deleted by tag). */
export type TagState = 'ok' | 'soft' | 'hard'

/**
 * Tag versions as this instance knows them. An entry keeps the versions its tags had when
 * its value was computed; a newer version means the tag was invalidated since. Versions
 * arrive on the bus (so an L1 hit checks tags with no Redis round trip) and are loaded from
 * Redis when the bus (re)connects. A version newer than ours seen on an entry is adopted:
 * we missed a message, and the entry proves it.
 */
export class TagVersions {
  private readonly hard = new Map<string, number>()
  private readonly soft = new Map<string, number>()

  get size(): number {
    return this.hard.size + this.soft.size
  }

  stamp(tags: readonly string[] | undefined): TagStamp[] | undefined {
    if (tags === undefined || tags.length === 0) return undefined
    return tags.map((tag) => [tag, this.hard.get(tag) ?? 0, this.soft.get(tag) ?? 0] as const)
  }

  stateOf(entry: Entry): TagState {
    const stamps = entry.t
    if (stamps === undefined) return 'ok'
    let state: TagState = 'ok'
    for (const [tag, hard, soft] of stamps) {
      const knownHard = this.hard.get(tag) ?? 0
      if (knownHard > hard) return 'hard'
      if (knownHard < hard) this.hard.set(tag, hard)
      const knownSoft = this.soft.get(tag) ?? 0
      if (knownSoft > soft) state = 'soft'
      else if (knownSoft < soft) this.soft.set(tag, soft)
    }
    return state
  }

  /** Records a version (from the bus or Redis); only ever moves forward. */
  observe(tag: string, kind: 'h' | 's', version: number): void {
    const map = kind === 'h' ? this.hard : this.soft
    if ((map.get(tag) ?? 0) < version) map.set(tag, version)
  }

  /** A local invalidation while Redis is unreachable: moves past what we know, at once. */
  bumpLocal(tag: string, kind: 'h' | 's'): void {
    const map = kind === 'h' ? this.hard : this.soft
    map.set(tag, (map.get(tag) ?? 0) + 1)
  }

  /** Loads `HGETALL` fields `h:<tag>` / `s:<tag>`. */
  load(fields: Record<string, string>): void {
    for (const [field, value] of Object.entries(fields)) {
      const kind = field.charAt(0)
      if ((kind === 'h' || kind === 's') && field.charAt(1) === ':') {
        this.observe(field.slice(2), kind, Number(value) || 0)
      }
    }
  }
}
