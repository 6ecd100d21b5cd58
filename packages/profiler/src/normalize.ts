/**
 * The shape of a SQL statement: literals become `?`, so `WHERE id = 7` and `WHERE id = 8` are
 * one shape and no value (a token, an e-mail address) is ever stored.
 *
 * - comments (`-- …`, `/* … *\/`) are dropped;
 * - string literals (`'it''s'`, `E'…'`, dollar-quoted `$$…$$`) and numbers become `?`;
 * - bind parameters (`$1`, `:name`, `@p1`) become `?`;
 * - lists of placeholders (`IN (?, ?, ?)`, `VALUES (?, ?), (?, ?)`) collapse to one;
 * - runs of whitespace become one space; SQL keywords are upper-cased (`select` and `SELECT`
 *   are one shape: knex writes lower case). Identifiers and `"quoted identifiers"` stay.
 *
 * Linear in the input: every pattern below is a single pass with no nested quantifiers over
 * overlapping classes.
 */
const MAX_SQL = 4096
const MAX_SHAPE = 1000

const COMMENTS = /--[^\n]*|\/\*[\s\S]*?\*\//g
const DOLLAR_QUOTED = /\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g
const STRINGS = /[EeNnXxBb]?'(?:[^']|'')*'/g
const BIND = /\$\d+|(?<![:\w]):[A-Za-z_]\w*|@[A-Za-z_]\w*|\?/g
const NUMBERS = /(?<![\w$."])-?(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b/gi
const WHITESPACE = /\s+/g
const LIST = /\(\s*\?(?:\s*,\s*\?)+\s*\)/g
const TUPLES = /\(\?\)(?:\s*,\s*\(\?\))+/g
const KEYWORDS =
  /("[^"]*"|`[^`]*`)|\b(select|from|where|and|or|not|in|is|null|like|ilike|between|exists|insert|into|values|update|set|delete|join|inner|left|right|full|outer|cross|on|using|as|order|group|by|having|limit|offset|asc|desc|distinct|union|all|any|case|when|then|else|end|with|returning|for|true|false)\b/gi

export function normalizeSql(sql: string): string {
  let s = sql.length > MAX_SQL ? sql.slice(0, MAX_SQL) : sql
  s = s.replace(COMMENTS, ' ')
  s = s.replace(DOLLAR_QUOTED, '?')
  s = s.replace(STRINGS, '?')
  s = s.replace(BIND, '?')
  s = s.replace(NUMBERS, '?')
  s = s.replace(WHITESPACE, ' ').trim()
  s = s.replace(KEYWORDS, upperKeyword)
  s = s.replace(LIST, '(?)')
  s = s.replace(TUPLES, '(?)')
  return s.length > MAX_SHAPE ? `${s.slice(0, MAX_SHAPE)}…` : s
}

function upperKeyword(match: string, quoted: string | undefined): string {
  return quoted === undefined ? match.toUpperCase() : quoted
}
