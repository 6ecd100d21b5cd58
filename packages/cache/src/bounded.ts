/**
 * A map that keeps roughly the last `max` keys: two generations, the older dropped whole when
 * the newer fills. Deleting the oldest key one by one would make V8 scan the tombstones at the
 * front of its hash table on every insert (a queue on a Map is O(n) per step).
 */
export class BoundedMap<K, V> {
  private current = new Map<K, V>()
  private previous = new Map<K, V>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.current.size + this.previous.size
  }

  get(key: K): V | undefined {
    return this.current.get(key) ?? this.previous.get(key)
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.max) {
      this.previous = this.current
      this.current = new Map()
    }
    this.current.set(key, value)
  }

  delete(key: K): boolean {
    const a = this.current.delete(key)
    const b = this.previous.delete(key)
    return a || b
  }
}
