import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@bpfkit/source'] },
  test: { name: '@bpfkit/attach', include: ['src/**/*.test.ts'] },
});
