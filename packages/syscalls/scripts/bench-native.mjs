#!/usr/bin/env node
// Measures ns/op of the addon's hot map paths on a 1-entry array map
// (BPF_MAP_LOOKUP_ELEM through native.mapLookup, and friends), the same way
// bench/lib/harness.mjs does: a warm-up round, then the median of 7 rounds.
// Needs root (or CAP_BPF). Usage: node scripts/bench-native.mjs [iterations]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = require('node-gyp-build')(root);

const iterations = Number(process.argv[2] ?? 1_000_000);
const BPF_MAP_CREATE = 0;
const attr = new Uint8Array(72);
const view = new DataView(attr.buffer);
view.setUint32(0, 2, true); // BPF_MAP_TYPE_ARRAY
view.setUint32(4, 4, true); // key_size
view.setUint32(8, 8, true); // value_size
view.setUint32(12, 1, true); // max_entries
const fd = native.bpf(BPF_MAP_CREATE, attr);
if (fd < 0) {
  console.error(`BPF_MAP_CREATE failed: errno ${-fd} (needs root or CAP_BPF)`);
  process.exit(1);
}

function measure(fn) {
  fn(Math.min(iterations, 100_000));
  const samples = [];
  for (let r = 0; r < 7; r++) {
    const start = process.hrtime.bigint();
    fn(iterations);
    samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

const key = new Uint8Array(4);
const value = new Uint8Array(8);
const next = new Uint8Array(4);
const rows = {
  mapLookup: measure((n) => {
    for (let i = 0; i < n; i++) if (native.mapLookup(fd, key, value, 0) !== 0) throw new Error('lookup failed');
  }),
  mapUpdate: measure((n) => {
    for (let i = 0; i < n; i++) if (native.mapUpdate(fd, key, value, 0) !== 0) throw new Error('update failed');
  }),
  mapNextKey: measure((n) => {
    for (let i = 0; i < n; i++) native.mapNextKey(fd, null, next);
  }),
};
native.close(fd);
for (const [op, ns] of Object.entries(rows)) console.log(`${op} ${ns.toFixed(1)} ns/op`);
