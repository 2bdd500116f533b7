#!/usr/bin/env node
// Builds the native addon at install time (`"install"` in package.json), offline.
//
// - Skips the build when a usable build already exists: node-gyp-build can
//   load it and no native source is newer than it. `pnpm rebuild` (or
//   BPFKIT_FORCE_NATIVE_BUILD=1) always rebuilds; BPFKIT_SKIP_NATIVE_BUILD=1
//   skips the build altogether.
// - Builds against the Node.js headers installed beside the running node
//   binary (<prefix>/include/node, prefix from process.execPath), never
//   downloading them: the build needs no network and no HOME of its own.
// - Runs the node-gyp of this package's own node_modules (npm's bundled
//   node-gyp, via npm_config_node_gyp, when it is not installed).
// - Fails loudly, naming what is missing, when g++, make or python3 are absent.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const log = (msg) => console.log(`@bpfkit/syscalls: ${msg}`);

function fail(msg) {
  console.error(`\n@bpfkit/syscalls: native addon build FAILED\n\n${msg}\n`);
  process.exit(1);
}

const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

if (process.platform !== 'linux') {
  log(`skipping the native build: the addon is Linux-only (this is ${process.platform}); only the mock backend works here`);
  process.exit(0);
}
if (truthy(process.env.BPFKIT_SKIP_NATIVE_BUILD)) {
  log('BPFKIT_SKIP_NATIVE_BUILD is set: skipping the native build');
  process.exit(0);
}

/** Newest modification time (ms) of the addon's sources. */
function newestSourceTime() {
  let newest = fs.statSync(path.join(root, 'binding.gyp')).mtimeMs;
  for (const name of fs.readdirSync(path.join(root, 'native'))) {
    newest = Math.max(newest, fs.statSync(path.join(root, 'native', name)).mtimeMs);
  }
  return newest;
}

/** Describes why the existing build is not usable, or returns null when it is. */
function existingBuildProblem() {
  let loadPath;
  try {
    const load = require('node-gyp-build');
    loadPath = load.resolve(root);
    load(root);
  } catch (err) {
    return `no loadable build (${String(err?.message ?? err).split('\n')[0]})`;
  }
  // A build from this package's own sources (not a shipped prebuild) must be newer than them.
  if (loadPath.startsWith(path.join(root, 'build') + path.sep) && fs.statSync(loadPath).mtimeMs < newestSourceTime()) {
    return 'the sources changed since the last build';
  }
  return null;
}

const force = truthy(process.env.BPFKIT_FORCE_NATIVE_BUILD) || process.env.npm_command === 'rebuild';
if (!force) {
  const problem = existingBuildProblem();
  if (problem === null) {
    log('a usable native build exists: skipping the build (BPFKIT_FORCE_NATIVE_BUILD=1 rebuilds)');
    process.exit(0);
  }
  log(`building the native addon: ${problem}`);
}

// --- tools -------------------------------------------------------------------
function works(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}
const cxx = process.env.CXX || 'g++';
const python = process.env.npm_config_python || process.env.PYTHON || 'python3';
const missing = [];
if (!works(cxx)) missing.push(`a C++ compiler (${cxx})`);
if (!works('make')) missing.push('make');
if (!works(python)) missing.push(`python3 (${python})`);
if (missing.length > 0) {
  fail(
    `Missing build tools: ${missing.join(', ')}.\n` +
      `The addon is compiled from source at install time and needs g++, make and python3.\n` +
      `On Debian/Ubuntu: apt-get install -y g++ make python3\n` +
      `(or set BPFKIT_SKIP_NATIVE_BUILD=1 to install without it; only the mock backend then works)`,
  );
}

// --- Node.js headers ---------------------------------------------------------
function hasHeaders(dir) {
  return ['node.h', 'node_api.h', 'common.gypi'].every((f) => fs.existsSync(path.join(dir, 'include', 'node', f)));
}
/** The Node major the headers under `dir` are of (include/node/node_version.h), or undefined. */
function headersMajor(dir) {
  try {
    const text = fs.readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    return Number(/#define NODE_MAJOR_VERSION (\d+)/.exec(text)?.[1]);
  } catch {
    return undefined;
  }
}
const prefix = path.resolve(path.dirname(process.execPath), '..');
const candidates = [process.env.BPFKIT_NODEDIR, process.env.npm_config_nodedir, prefix].filter(Boolean);
// Headers of the running Node's own major first: the addon's V8 fast paths switch on only when they match
// (npm's nodedir may name another version's, e.g. the distribution's Node when another one runs).
const major = Number(process.versions.node.split('.')[0]);
const nodedir = candidates.find((d) => hasHeaders(d) && headersMajor(d) === major) ?? candidates.find(hasHeaders);
if (nodedir !== undefined && headersMajor(nodedir) !== major) {
  log(`warning: the headers found are of Node ${headersMajor(nodedir)}, not ${major}: the V8 fast paths stay off on this Node`);
}
if (nodedir === undefined) {
  fail(
    `No Node.js headers found (looked for include/node/{node.h,node_api.h,common.gypi} under: ${candidates.join(', ')}).\n` +
      `Install the headers that match ${process.execPath} (${process.version}), e.g. the distribution's nodejs\n` +
      `development package, or point BPFKIT_NODEDIR (or npm_config_nodedir) at a directory holding include/node.`,
  );
}

// --- node-gyp ----------------------------------------------------------------
let nodeGyp;
try {
  nodeGyp = path.join(path.dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
} catch {
  nodeGyp = process.env.npm_config_node_gyp;
}
if (!nodeGyp || !fs.existsSync(nodeGyp)) {
  fail('node-gyp was not found: install the devDependencies (pnpm install) or run from npm/pnpm, which bundle it.');
}

// node-gyp keeps a cache under HOME: give it a temporary one, so an empty or read-only HOME works.
const devdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-node-gyp-'));
process.on('exit', () => fs.rmSync(devdir, { recursive: true, force: true }));
const env = {
  ...process.env,
  npm_config_nodedir: nodedir,
  npm_config_devdir: devdir,
  npm_config_python: python,
};
const jobs = String(Math.max(1, Math.min(os.availableParallelism?.() ?? 1, 4)));
log(`node-gyp rebuild (headers: ${path.join(nodedir, 'include', 'node')}, node ${process.version})`);
const r = spawnSync(
  process.execPath,
  [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, `--devdir=${devdir}`, '--jobs', jobs, '--loglevel=warn'],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
if (r.status !== 0) {
  fail(`node-gyp rebuild exited with ${r.status ?? r.signal}; its output is above.`);
}

// The fresh build must load.
const problem = existingBuildProblem();
if (problem !== null) fail(`the build finished but does not load: ${problem}`);
log('native addon built');
