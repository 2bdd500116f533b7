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
    // --expose-gc lets tests prove that dropped handles are closed by the FinalizationRegistry.
    test: { name, include, execArgv: ['--expose-gc'] },
  });
}
