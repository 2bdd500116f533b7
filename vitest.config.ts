import { defineConfig } from 'vitest/config';

// One run over every package: each package's vitest.config.ts is a project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'scripts'],
    // Kernel tests share kernel state (bpffs, network namespaces): run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
