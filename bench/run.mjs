#!/usr/bin/env node
// `pnpm bench [suite...]`: runs benchmark suites (never part of the tests).
// Each suite prints a table and writes bench/results/<suite>.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
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
