#!/usr/bin/env node
// The `bpfkit` command (copied to dist/bpfkit.cjs by bundle-cli.mjs): runs the
// CLI bundle (dist/cli.bundle.cjs) through a V8 code cache.
//
// Without one, every run compiles the 0.8 MB bundle and then, lazily, each
// function it calls: ~30 ms of a `bpfkit obj load` that takes ~190 ms on
// these machines. The cache is V8's own (vm.Script cachedData), made after
// a run of the same command, so it holds the functions that command
// compiled; V8 refuses it when the source, V8 version or flags differ, and
// then it is made again. It lives in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache, then bpfkit/cli-code-cache/), is only used
// when that directory belongs to the user and no one else can write to it,
// and is written to a temporary file renamed into place. Anything wrong
// with it is ignored: the command runs as if there were none.
// BPFKIT_NO_CODE_CACHE=1 turns it off.
//
// CommonJS on purpose: Node starts a CommonJS entry ~10 ms sooner than an
// ES module one (no ESM loader to set up).
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

// Commands that end on their own. `events` and `prog attach` run until Ctrl-C: a process that lives on does
// not keep every page it ever used locked in memory.
const SHORT_COMMANDS = new Set(['obj', 'gen', 'disasm', 'map', 'link', 'features']);

/**
 * Has the kernel populate this process's future memory at once (the addon's populateFutureMappings:
 * mlockall(MCL_FUTURE), taken only where locking has no limit to run into). A command grows its heap by
 * a few MB, page by page; where the kernel isolates its page tables without PCID a page fault was measured
 * at ~11 us and a populated page at ~0.65 us, so `bpfkit obj load` of a CO-RE tool spent 25-30 ms in faults
 * without it (13% of its time). Where faults are cheap (no isolation needed) it measured neutral. Before anything else, so reading
 * the bundle and its code cache gains too. The addon is loaded through require (as the bundle loads it,
 * so the bundle gets the same module) from the place the bundle looks first; elsewhere (prebuilds), or
 * with BPFKIT_NO_PREFAULT=1, nothing is done.
 */
function populateFutureMappings() {
  const command = process.argv[2] ?? '';
  if (!SHORT_COMMANDS.has(command) && !(command === 'prog' && process.argv[3] !== 'attach')) return;
  const off = process.env.BPFKIT_NO_PREFAULT;
  if (off !== undefined && off !== '' && off !== '0') return;
  for (let dir = __dirname; ; ) {
    const addon = path.join(dir, 'node_modules', '@bpfkit', 'syscalls', 'build', 'Release', 'bpfkit_syscalls.node');
    if (fs.existsSync(addon)) {
      try {
        const populate = require(addon).populateFutureMappings;
        if (typeof populate === 'function') populate(true);
      } catch {
        // An addon that does not load here will not load in the bundle either, which says why.
      }
      return;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}
populateFutureMappings();

const bundle = path.join(__dirname, 'cli.bundle.cjs');
// Pure ASCII (bundle-cli.mjs escapes everything else), so latin1 reads it as it is, without UTF-8 decoding.
// Already wrapped as a CommonJS module's function (bundle-cli.mjs): wrapping it here would make V8 copy
// the joined string flat again before compiling.
const source = fs.readFileSync(bundle, 'latin1');

/** Where the cache of this bundle, Node.js and command goes, or undefined when there is no safe place for it. */
function cacheFile() {
  const off = process.env.BPFKIT_NO_CODE_CACHE;
  if (off !== undefined && off !== '' && off !== '0') return undefined;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : undefined);
  if (!base || !path.isAbsolute(base)) return undefined;
  const dir = path.join(base, 'bpfkit', 'cli-code-cache');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.();
    // Code read from here runs as this user: a directory others can write to is not used.
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  const stat = fs.statSync(bundle);
  const command = /^[a-z]+$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
  // Each installed copy of bpfkit has caches of its own (named by where it is), so two of them never evict each other's.
  const prefix = `${process.version}-${process.arch}-${fnv1a(bundle)}-`;
  return {
    dir,
    name: `${prefix}${stat.size}-${Math.trunc(stat.mtimeMs)}-${command}.bin`,
    // Caches of earlier builds of this copy, for this Node.js and command: replaced by this one.
    stale: (name) => name.startsWith(prefix) && name.endsWith(`-${command}.bin`),
  };
}

/** FNV-1a of a string's UTF-16 units, as 8 hex digits. */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

const cache = cacheFile();
const file = cache && path.join(cache.dir, cache.name);
let cachedData;
if (file) {
  try {
    cachedData = fs.readFileSync(file);
  } catch {
    // none yet
  }
}
const script = new vm.Script(source, { filename: bundle, cachedData });
if (file && (!cachedData || script.cachedDataRejected)) {
  process.once('exit', () => {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, file);
      // Also the caches nobody has written for 30 days, whatever copy made them (a removed install, a deleted
      // clone): written only when made, so their age says when their copy last changed or started a command.
      const old = Date.now() - 30 * 24 * 3600 * 1000;
      for (const name of fs.readdirSync(cache.dir)) {
        if (name === cache.name || !name.endsWith('.bin')) continue;
        const other = path.join(cache.dir, name);
        if (cache.stale(name) || fs.statSync(other).mtimeMs < old) fs.rmSync(other, { force: true });
      }
    } catch {
      // A full disk or a read-only home: the next run compiles again.
      fs.rmSync(tmp, { force: true });
    }
  });
}
const bundleModule = { exports: {} };
script.runInThisContext().call(bundleModule.exports, bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, __dirname);
