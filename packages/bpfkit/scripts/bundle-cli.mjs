// Bundles the built CLI (dist/cli.js and the ~200 modules it imports from every
// @bpfkit package) into one file, dist/cli.bundle.js: what the `bpfkit` bin runs.
// Node 20 resolves and instantiates ESM modules one by one (about 0.6 ms each on
// these machines), so the unbundled CLI spends ~120 ms before its first line runs.
// The native addon stays outside: @bpfkit/syscalls finds its package (and the
// addon's build) through module resolution from wherever the bundle sits.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  input: path.join(root, 'dist', 'cli.js'),
  platform: 'node',
  external: [/^node:/, 'node-gyp-build'],
  logLevel: 'warn',
  output: {
    file: path.join(root, 'dist', 'cli.bundle.js'),
    format: 'esm',
    codeSplitting: false,
  },
});
fs.chmodSync(path.join(root, 'dist', 'cli.bundle.js'), 0o755);
