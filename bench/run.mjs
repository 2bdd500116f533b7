#!/usr/bin/env node
// `pnpm bench [suite...] [--node <major | path>]`: runs benchmark suites (never part of the tests).
// Each suite prints a table and writes bench/results/<suite>.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// `--node <major | path>`: the suites run under that Node, with the addon built against its headers
// (scripts/with-node.sh), then the addon is built again for the machine's Node.
const nodeAt = process.argv.indexOf('--node');
if (nodeAt >= 0) {
  const want = process.argv[nodeAt + 1];
  if (!want) {
    console.error('bench: --node needs a Node major (22, 24) or the path of a node binary');
    process.exit(2);
  }
  const rest = process.argv.slice(2).filter((_, i) => i !== nodeAt - 2 && i !== nodeAt - 1);
  const r = spawnSync('bash', [path.join(here, '..', 'scripts', 'with-node.sh'), want, 'node', path.join(here, 'run.mjs'), ...rest], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
const available = fs
  .readdirSync(path.join(here, 'suites'))
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.slice(0, -4))
  .sort();
const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`bench: unknown suite '${name}' (available: ${available.join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : available) {
  const suite = await import(path.join(here, 'suites', `${name}.mjs`));
  await suite.run();
}
