#!/usr/bin/env node
// The layering rule of ARCHITECTURE.md, enforced: a package may import only
// the packages below it, and `mock` never imports the kernel-side packages.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which workspace packages each package may import (by directory name). */
export const ALLOWED = {
  core: [],
  elf: ['core'],
  syscalls: ['core', 'elf'],
  maps: ['core', 'elf', 'syscalls'],
  attach: ['core', 'elf', 'syscalls'],
  perf: ['core', 'elf', 'syscalls'],
  mock: ['core', 'elf'],
  bpfkit: ['core', 'elf', 'syscalls', 'maps', 'attach', 'perf', 'mock'],
};

const PACKAGE_OF = (specifier) => {
  if (specifier === 'bpfkit' || specifier.startsWith('bpfkit/')) return 'bpfkit';
  const m = /^@bpfkit\/([^/]+)/.exec(specifier);
  return m ? m[1] : undefined;
};

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Import specifiers of one source text. */
export function importsOf(source) {
  const out = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function* sourceFiles(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield p;
  }
}

/**
 * Checks every package under `root/packages`. Returns a list of violations,
 * each `{ file, specifier, reason }`.
 */
export function checkLayers(root, allowed = ALLOWED) {
  const violations = [];
  const packagesDir = path.join(root, 'packages');
  for (const name of fs.readdirSync(packagesDir)) {
    const pkgDir = path.join(packagesDir, name);
    if (!fs.statSync(pkgDir).isDirectory()) continue;
    const permitted = allowed[name];
    if (!permitted) {
      violations.push({ file: pkgDir, specifier: '', reason: `package '${name}' has no place in the layering table` });
      continue;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      const target = PACKAGE_OF(dep);
      if (target && target !== name && !permitted.includes(target)) {
        violations.push({ file: path.join(pkgDir, 'package.json'), specifier: dep, reason: `'${name}' may not depend on '${target}'` });
      }
    }
    for (const file of sourceFiles(path.join(pkgDir, 'src'))) {
      for (const specifier of importsOf(fs.readFileSync(file, 'utf8'))) {
        const target = PACKAGE_OF(specifier);
        if (target && target !== name && !permitted.includes(target)) {
          violations.push({
            file,
            specifier,
            reason: `'${name}' may not import '${target}' (allowed: ${permitted.join(', ') || 'nothing'})`,
          });
        }
        if (specifier.startsWith('.')) {
          const resolved = path.resolve(path.dirname(file), specifier);
          if (!resolved.startsWith(pkgDir + path.sep)) {
            violations.push({ file, specifier, reason: `relative import leaves package '${name}'` });
          }
        }
        // Tests may read fixtures from disk; the library code itself may not.
        if ((name === 'core' || name === 'elf') && !/\.test\.[mc]?[jt]s$/.test(file)) {
          if (specifier.startsWith('node:') || ['fs', 'os', 'child_process', 'net'].includes(specifier)) {
            violations.push({ file, specifier, reason: `'${name}' must run in any JavaScript runtime: no Node built-ins` });
          }
        }
      }
    }
  }
  return violations;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const violations = checkLayers(root);
  for (const v of violations) console.error(`${path.relative(root, v.file)}: ${v.specifier} — ${v.reason}`);
  if (violations.length) {
    console.error(`layering: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log('layering: ok');
}
