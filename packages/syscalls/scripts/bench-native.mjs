#!/usr/bin/env node
// Measures ns/op of one BPF_MAP_LOOKUP_ELEM on a 1-entry array map through
// native.mapLookup against a C loop making the same system call, the way
// bench/lib/harness.mjs does (a warm-up round, then the median of 7 rounds),
// alternating C and JavaScript batches so that noise from other work on the
// machine hits both alike. Also reports mapUpdate and mapNextKey.
//
// Needs root (or CAP_BPF) and a C compiler (cc, or $CC) for the baseline.
// Usage: node scripts/bench-native.mjs [iterations=1000000] [batches=3]
// BPFKIT_NATIVE_NAPI_ONLY=1 measures the Node-API versions of the hot paths.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = require('node-gyp-build')(root);

const iterations = Number(process.argv[2] ?? 1_000_000);
const batches = Number(process.argv[3] ?? 3);

// The C baseline: the same attr (32 bytes: map_fd, key, value, flags) and syscall in a loop.
const C_SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
struct elem { uint32_t map_fd, pad; uint64_t key, value, flags; };
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  uint32_t create[18] = {2, 4, 8, 1}; /* BPF_MAP_CREATE: array, key 4, value 8, 1 entry */
  int fd = syscall(SYS_bpf, 0, create, sizeof(create));
  if (fd < 0) { perror("BPF_MAP_CREATE"); return 1; }
  uint32_t key = 0; uint64_t value = 0; double s[8];
  for (int r = -1; r < 7; r++) {
    long m = r < 0 ? (n < 100000 ? n : 100000) : n;
    double t = now();
    for (long i = 0; i < m; i++) {
      struct elem a; memset(&a, 0, sizeof(a));
      a.map_fd = fd; a.key = (uintptr_t)&key; a.value = (uintptr_t)&value;
      if (syscall(SYS_bpf, 1, &a, sizeof(a)) < 0) { perror("BPF_MAP_LOOKUP_ELEM"); return 1; }
    }
    if (r >= 0) s[r] = (now() - t) / m;
  }
  qsort(s, 7, sizeof(double), cmp);
  printf("%.2f\n", s[3]);
  return 0;
}
`;

function compileBaseline() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-bench-'));
  const src = path.join(dir, 'lookup.c');
  const bin = path.join(dir, 'lookup');
  fs.writeFileSync(src, C_SOURCE);
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', bin, src], { stdio: 'inherit' });
  } catch {
    return null;
  }
  return bin;
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const attr = new Uint8Array(72);
const view = new DataView(attr.buffer);
view.setUint32(0, 2, true); // BPF_MAP_TYPE_ARRAY
view.setUint32(4, 4, true); // key_size
view.setUint32(8, 8, true); // value_size
view.setUint32(12, 1, true); // max_entries
const fd = native.bpf(0 /* BPF_MAP_CREATE */, attr);
if (fd < 0) {
  console.error(`BPF_MAP_CREATE failed: errno ${-fd} (needs root or CAP_BPF)`);
  process.exit(1);
}
const key = new Uint8Array(4);
const value = new Uint8Array(8);
const next = new Uint8Array(4);
const lookup = (n) => {
  for (let i = 0; i < n; i++) if (native.mapLookup(fd, key, value, 0) !== 0) throw new Error('lookup failed');
};

const baseline = compileBaseline();
const js = [];
const c = [];
for (let b = 0; b < batches; b++) {
  if (baseline) c.push(Number(execFileSync(baseline, [String(iterations)], { encoding: 'utf8' })));
  js.push(measure(lookup));
  console.log(`batch ${b + 1}: native.mapLookup ${js.at(-1).toFixed(1)} ns/op${baseline ? `, C ${c.at(-1).toFixed(1)} ns/op` : ''}`);
}
const update = measure((n) => {
  for (let i = 0; i < n; i++) if (native.mapUpdate(fd, key, value, 0) !== 0) throw new Error('update failed');
});
const nextKey = measure((n) => {
  for (let i = 0; i < n; i++) native.mapNextKey(fd, null, next);
});
native.close(fd);
if (baseline) fs.rmSync(path.dirname(baseline), { recursive: true, force: true });

const hot = native.constants.HOT_PATHS_V8 ? 'V8 callbacks' : 'Node-API';
console.log(`\nnode ${process.version}, kernel ${os.release()}, hot paths: ${hot}`);
console.log(`native.mapLookup  ${median(js).toFixed(1)} ns/op (median of ${batches} batches)`);
if (baseline) {
  console.log(`C loop            ${median(c).toFixed(1)} ns/op`);
  console.log(`ratio C/native    ${(median(c) / median(js)).toFixed(3)}x`);
} else {
  console.log('C loop            (no C compiler: skipped)');
}
console.log(`native.mapUpdate  ${update.toFixed(1)} ns/op`);
console.log(`native.mapNextKey ${nextKey.toFixed(1)} ns/op (null key, first key)`);
