import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@bpfkit/source'] },
  test: { name: '@bpfkit/perf', include: ['src/**/*.test.ts'] },
});
