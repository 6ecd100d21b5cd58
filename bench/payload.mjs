// The bodies every scenario serves, so that all servers send the same bytes.

/** An object whose JSON is about 1 KB: a page of a product list. */
export function productPage(count = 8) {
  return {
    page: 1,
    total: 240,
    items: Array.from({ length: count }, (_, i) => ({
      id: 1000 + i,
      sku: `SKU-${(1000 + i).toString(36).toUpperCase()}`,
      name: `Product number ${i} with a descriptive name`,
      price: 19.99 + i,
      tags: ['sale', 'new'],
    })),
  }
}

export const json1k = productPage(8)
export const json1kText = JSON.stringify(json1k)

/** About 100 KB of JSON. */
export const json100k = productPage(800)
export const json100kText = JSON.stringify(json100k)

/** A small body below any compression threshold (about 200 bytes). */
export const jsonSmall = productPage(1)
export const jsonSmallText = JSON.stringify(jsonSmall)

/** Burns `ms` of CPU synchronously: a handler that does real work. */
export function burnCpu(ms) {
  const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6))
  let x = 0
  while (process.hrtime.bigint() < end) x++
  return x
}
