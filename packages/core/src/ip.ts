import { isIPv4, isIPv6 } from 'node:net'

export interface IpKeyOptions {
  /** Prefix length IPv6 addresses are masked to (a household or small site). Default 56. */
  ipv6Subnet?: number
}

/**
 * A rate-limit/analytics key for a client address: IPv4 as is, IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) folded to IPv4, and other IPv6 masked to a subnet (`2001:db8:ab:cd00::/56`),
 * because one IPv6 client usually holds a whole /64 or more.
 */
export function ipKey(ip: string | undefined, options: IpKeyOptions = {}): string {
  if (!ip) return 'unknown'
  const zone = ip.indexOf('%')
  const address = zone === -1 ? ip : ip.slice(0, zone)
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return 'unknown'
  const groups = expandIPv6(address)
  if (isMappedIPv4(groups)) {
    const high = groups[6] as number
    const low = groups[7] as number
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
  }
  const bits = Math.max(0, Math.min(128, options.ipv6Subnet ?? 56))
  const masked = groups.map((group, index) => {
    const keep = Math.max(0, Math.min(16, bits - index * 16))
    return keep === 0 ? 0 : group & ((0xffff << (16 - keep)) & 0xffff)
  })
  return `${compressIPv6(masked)}/${bits}`
}

function isMappedIPv4(groups: number[]): boolean {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return false
  return groups[5] === 0xffff
}

function expandIPv6(address: string): number[] {
  let text = address
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = rest ? rest.split(':') : []
  const fill = rest === undefined ? [] : Array(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((group) => Number.parseInt(group || '0', 16))
}

function compressIPv6(groups: number[]): string {
  let bestStart = -1
  let bestLength = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength && j - i > 1) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestStart === -1) return hex.join(':')
  const left = hex.slice(0, bestStart).join(':')
  const right = hex.slice(bestStart + bestLength).join(':')
  return `${left}::${right}`
}
