import { FieldsError } from './grammar'

function decode(text: string): string {
  const plus = text.includes('+') ? text.replace(/\+/g, ' ') : text
  if (!plus.includes('%')) return plus
  try {
    return decodeURIComponent(plus)
  } catch {
    throw new FieldsError(
      'ERR_HOTPATH_FIELDS_SYNTAX',
      'fields: malformed percent-encoding at position 0.',
      text,
      0,
    )
  }
}

/**
 * The values of `param` in `url`'s query (WHATWG form decoding), joined with `,` when the
 * parameter is repeated; `undefined` when it is absent. Throws {@link FieldsError} on a
 * malformed percent-escape.
 */
export function readParam(url: string, param: string): string | undefined {
  const q = url.indexOf('?')
  if (q === -1 || !url.includes(param, q)) return undefined
  let found: string | undefined
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    if (name !== param && decode(name) !== param) continue
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1))
    found = found === undefined || found === '' ? value : value === '' ? found : `${found},${value}`
  }
  return found
}

/** `encodeURIComponent`, keeping the grammar's own characters readable (RFC 3986 §3.4 allows them). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/%2C/g, ',').replace(/%2F/g, '/')
}

/**
 * `url` with every `param` pair replaced by one `param=<canonical>` where the first was (or
 * removed, when the mask is empty), other parameters untouched and in order.
 */
export function rewriteParam(url: string, param: string, canonical: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const out: string[] = []
  let placed = false
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    let isParam = name === param
    if (!isParam && name.includes('%')) {
      try {
        isParam = decodeURIComponent(name) === param
      } catch {
        isParam = false
      }
    }
    if (!isParam) {
      if (pair !== '') out.push(pair)
      continue
    }
    if (!placed && canonical !== '') out.push(`${param}=${encode(canonical)}`)
    placed = true
  }
  const path = url.slice(0, q)
  return out.length === 0 ? path : `${path}?${out.join('&')}`
}
