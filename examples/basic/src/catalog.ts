/**
 * The shop's data: an in-memory product table behind an async "database" whose calls take
 * a few milliseconds, like a real one, so the profiler and the cache have work to show.
 */
export interface Product {
  id: number
  sku: string
  name: string
  price: number
  stock: number
  category: string
}

const CATEGORIES = ['books', 'games', 'garden', 'kitchen', 'music']

export interface Catalog {
  /** `SELECT * FROM products ORDER BY id LIMIT $1 OFFSET $2` */
  list(limit: number, offset: number): Promise<Product[]>
  /** `SELECT * FROM products WHERE id = $1` */
  byId(id: number): Promise<Product | undefined>
  /** `UPDATE products SET price = $1 WHERE id = $2` */
  setPrice(id: number, price: number): Promise<Product | undefined>
  readonly size: number
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function createCatalog(count = 120, latencyMs = 3): Catalog {
  const rows: Product[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    sku: `SKU-${(1000 + i).toString(36).toUpperCase()}`,
    name: `${CATEGORIES[i % CATEGORIES.length]} item ${i + 1}`,
    price: Math.round((5 + ((i * 37) % 95) + 0.99) * 100) / 100,
    stock: (i * 7) % 40,
    category: CATEGORIES[i % CATEGORIES.length] as string,
  }))
  return {
    size: rows.length,
    async list(limit, offset) {
      await delay(latencyMs)
      return rows.slice(offset, offset + limit).map((row) => ({ ...row }))
    },
    async byId(id) {
      await delay(latencyMs)
      const row = rows[id - 1]
      return row ? { ...row } : undefined
    },
    async setPrice(id, price) {
      await delay(latencyMs)
      const row = rows[id - 1]
      if (!row) return undefined
      row.price = price
      return { ...row }
    },
  }
}
