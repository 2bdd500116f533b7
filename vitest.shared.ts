import { defineProject } from 'vitest/config';

/**
 * Tests import workspace packages from their TypeScript sources (the
 * `@bpfkit/source` export condition), so no build is needed to test.
 */
const conditions = ['@bpfkit/source', 'import', 'module', 'node', 'default'];

export function project(name: string, include = ['src/**/*.test.ts']) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      include,
      // --expose-gc lets tests prove that dropped handles are closed by the FinalizationRegistry.
      execArgv: ['--expose-gc'],
      // Projects do not inherit the root config's timeouts: without these, vitest's 5 s default
      // fails the fuzz tests when the other core is busy.
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  });
}
