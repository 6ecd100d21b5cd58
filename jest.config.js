// One `npm test` runs every suite twice: against Express 5 and, through the aliased
// `express-v4` package, against Express 4. Packages resolve to their sources, never to a
// stale build. Suites named `*.once.test.ts` do not depend on Express and run once.
const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  moduleNameMapper: {
    '^@hotpath/profiler/testing$': '<rootDir>/packages/profiler/src/testing.ts',
    '^@hotpath/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 20_000,
  slowTestThreshold: 10,
}

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
  // Suites drive real redis-servers, Chromium and child processes; a handle one of them
  // leaks must fail loudly in review (--detectOpenHandles), never hang a CI run.
  forceExit: true,
  // A global option: inside a project entry jest ignores it and keeps its 5 s default.
  testTimeout: 20_000,
  globalTeardown: '<rootDir>/test/helpers/global-teardown.js',
  projects: [
    {
      ...base,
      displayName: 'express5',
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    },
    {
      ...base,
      displayName: 'express4',
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.once\\.test\\.ts$'],
      moduleNameMapper: {
        ...base.moduleNameMapper,
        '^express$': 'express-v4',
        '^express/(.*)$': 'express-v4/$1',
      },
    },
  ],
}
