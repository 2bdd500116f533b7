import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@bpfkit/source'] },
  test: { name: '@bpfkit/mock', include: ['src/**/*.test.ts'] },
});
