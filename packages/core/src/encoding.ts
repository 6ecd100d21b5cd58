/**
 * Content-coding negotiation shared by compression and the response cache's stored variants,
 * so both answer one `Accept-Encoding` the same way.
 */

/** RFC 9110 §12.4.2 qvalue: `0`, `0.5`, `0.125`, `1`, `1.000`. Anchored, so linear. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** The q-value a client gave each coding it named; `undefined` when it did not name it. */
interface Weights {
  explicit: Map<string, number>
  star: number | undefined
}

/**
 * Splits an `Accept-Encoding` value (RFC 9110 §12.5.3) into coding → q in one pass.
 * Each character is visited a bounded number of times, so a 16 KB malformed header costs
 * microseconds; entries with an invalid q-value are ignored rather than guessed at.
 */
function parse(header: string): Weights {
  const explicit = new Map<string, number>()
  let star: number | undefined
  for (const entry of header.split(',')) {
    const semi = entry.indexOf(';')
    const coding = (semi === -1 ? entry : entry.slice(0, semi)).trim().toLowerCase()
    if (coding === '') continue
    let q = 1
    if (semi !== -1) {
      const weight = qOf(entry.slice(semi + 1))
      if (weight === undefined) continue
      q = weight
    }
    if (coding === '*') star ??= q
    else if (!explicit.has(coding)) explicit.set(coding, q)
  }
  return { explicit, star }
}

/** The `q` parameter of `;q=0.5;x=y`, `1` when absent, `undefined` when malformed. */
function qOf(params: string): number | undefined {
  for (const param of params.split(';')) {
    const eq = param.indexOf('=')
    if (eq === -1) continue
    if (param.slice(0, eq).trim().toLowerCase() !== 'q') continue
    const value = param.slice(eq + 1).trim()
    return QVALUE.test(value) ? Number(value) : undefined
  }
  return 1
}

/**
 * The coding to use among `offered` (server preference order), or `null` for identity.
 *
 * RFC 9110 §12.5.3: a coding is acceptable when its q (or `*`'s, if it is not named) is
 * above 0; the highest q wins and ties go to the server's order. Identity is chosen when the
 * client names it with a higher q than any offered coding, when nothing offered is
 * acceptable, and when the header is absent or empty. `identity;q=0, *;q=0` leaves no
 * acceptable representation; the unencoded body is sent rather than a 406 (§12.5.3 lets
 * the server disregard the header), so a strict client still gets an answer.
 */
export function negotiateEncoding<E extends string>(
  header: string | undefined,
  offered: readonly E[],
): E | null {
  if (header === undefined || header === '') return null
  const { explicit, star } = parse(header)
  let best: E | null = null
  let bestQ = 0
  for (const coding of offered) {
    const q = explicit.get(coding) ?? star ?? 0
    if (q > bestQ) {
      best = coding
      bestQ = q
    }
  }
  const identity = explicit.get('identity')
  if (best !== null && identity !== undefined && identity > bestQ) return null
  return best
}
