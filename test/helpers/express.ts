/**
 * The Express under test: `express` resolves to Express 5 or, in the `express4` jest
 * project, to Express 4. Tests that need to know which one use `expressMajor`.
 */
import express from 'express'

export { express }
export const expressMajor: number = Number.parseInt(
  // biome-ignore lint/suspicious/noExplicitAny: the version lives on the module's package.json only
  (require('express/package.json') as any).version,
  10,
)
