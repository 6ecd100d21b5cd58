import createETag from 'etag'

/** An entity tag for a body sent in one piece (the `etag` package: SHA-1, length-prefixed). */
export function etagFor(body: string | Buffer, weak: boolean): string {
  return createETag(body, { weak })
}
