#!/usr/bin/env node
// `pnpm testdata`: rebuilds the BPF test objects, packages/*/testdata/*.bpf.c
// and apps/*/bpf/*.bpf.c → *.bpf.o (little-endian) and *.bpf.eb.o (big-endian), with clang from
// Debian's packages (installed when missing). Tests use the committed
// objects and never need clang.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensureToolchain() {
  const clang = ['clang-19', 'clang'].find(has);
  if (clang && fs.existsSync('/usr/include/bpf/bpf_helpers.h')) return clang;
  console.error('testdata: installing clang-19 and libbpf-dev from Debian packages');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  execFileSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'update', '-qq'], { stdio: 'inherit' });
  execFileSync(
    sudo[0] ?? 'apt-get',
    [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', 'clang-19', 'libbpf-dev'],
    {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    },
  );
  return 'clang-19';
}

// Test objects of the packages, and the example apps' own programs.
const sources = [
  ['packages', 'testdata'],
  ['apps', 'bpf'],
].flatMap(([top, sub]) =>
  fs.readdirSync(path.join(root, top)).flatMap((pkg) => {
    const dir = path.join(root, top, pkg, sub);
    return fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.bpf.c'))
          .map((f) => path.join(dir, f))
      : [];
  }),
);
if (sources.length === 0) {
  console.log('testdata: no packages/*/testdata/*.bpf.c');
  process.exit(0);
}
const clang = ensureToolchain();
const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
// <linux/types.h> includes <asm/types.h>, which Debian keeps under the multiarch directory.
const multiarch = process.arch === 'arm64' ? '/usr/include/aarch64-linux-gnu' : '/usr/include/x86_64-linux-gnu';
for (const src of sources) {
  for (const [target, suffix] of [
    ['bpfel', '.bpf.o'],
    ['bpfeb', '.bpf.eb.o'],
  ]) {
    const out = src.replace(/\.bpf\.c$/, suffix);
    // A source whose first line says `testdata: no-btf` is built without -g, as loaders that
    // predate BTF (goebpf's Makefiles) build theirs.
    const withBtf = !/^\/\/ testdata: no-btf\b/.test(fs.readFileSync(src, 'utf8'));
    // -g for BTF (unless the source says no-btf), -O2 as the verifier expects; the object is
    // reproducible (no debug prefix of this machine).
    execFileSync(
      clang,
      [
        '-O2',
        ...(withBtf ? ['-g'] : []),
        '-target',
        target,
        `-D__TARGET_ARCH_${arch}`,
        '-mcpu=v3',
        `-fdebug-prefix-map=${root}=.`,
        '-I',
        path.dirname(src),
        '-idirafter',
        multiarch,
        '-c',
        src,
        '-o',
        out,
      ],
      { stdio: 'inherit' },
    );
    console.log(`testdata: ${path.relative(root, out)}`);
  }
}
