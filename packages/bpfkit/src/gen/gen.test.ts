import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BtfBuilder, btfCodec, parseBtf } from '@bpfkit/elf';
import type { Btf } from '@bpfkit/elf';
import ts from 'typescript';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import * as bpfkit from '../index.js';
import type { Codec } from '../index.js';
import { identifier, NameTable } from './names.js';
import { generateBtfTypes, generateTypes } from './index.js';

/** Transpiles generated TypeScript and runs it as a module whose `bpfkit` is this package. */
function loadGenerated(code: string): Record<string, unknown> {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const module = { exports: {} as Record<string, unknown> };
  const require = (id: string) => {
    if (id === 'bpfkit') return bpfkit;
    throw new Error(`generated code imports '${id}'`);
  };
  new Function('require', 'exports', 'module', js)(require, module.exports, module);
  return module.exports;
}

/** Every kind the generator handles, in one small BTF. */
function sampleBtf(): Btf {
  const b = new BtfBuilder();
  const u8 = b.addInt('unsigned char', 1, false);
  const u16 = b.addInt('unsigned short', 2, false);
  const s32 = b.addInt('int', 4, true);
  const u32 = b.addInt('unsigned int', 4, false);
  const u64 = b.addInt('unsigned long long', 8, false);
  const s64 = b.addInt('long long', 8, true);
  const char = b.addIntEncoded('char', 1, 1 | 2);
  const boolT = b.addIntEncoded('_Bool', 1, 4);
  const s128 = b.addInt('__int128', 16, true);
  const dbl = b.addFloat('double', 8);
  const flt = b.addFloat('float', 4);
  const idx = s32;
  const u32t = b.addTypedef('__u32', u32);
  const level = b.addEnumSized(
    'level',
    1,
    [
      ['LOW', -1],
      ['MID', 0],
      ['HIGH', 1],
    ],
    true,
  );
  const big = b.addEnum64('big', [
    ['HUGE', 1n << 40n],
    ['SMALL', 2n],
  ]);
  b.addEnum64(
    'sbig',
    [
      ['NEG', -5n],
      ['POS', 1n << 62n],
    ],
    true,
  );
  const comm = b.addArray(char, idx, 16);
  const mac = b.addArray(u8, idx, 6);
  const words = b.addArray(u32t, idx, 3);
  const row = b.addArray(u16, idx, 2);
  const grid = b.addArray(row, idx, 2);
  const flex = b.addArray(u32, idx, 0);
  const ptr = b.addPointer(s32);
  // struct point { int x; int y; }
  const point = b.addStruct('point', 8, [
    ['x', s32, 0],
    ['y', s32, 4],
  ]);
  const points = b.addArray(point, idx, 2);
  // union value { __u32 u; int s; unsigned char raw[4]; }
  const value = b.addUnion('value', 4, [
    ['u', u32t],
    ['s', s32],
    ['raw', b.addArray(u8, idx, 4)],
  ]);
  // anonymous: struct { __u64 lo; __u64 hi; } and union { __u32 a; unsigned short b; }
  const anonStruct = b.addStruct('', 16, [
    ['lo', u64, 0],
    ['hi', u64, 8],
  ]);
  const anonUnion = b.addUnion('', 4, [
    ['a', u32],
    ['b', u16],
  ]);
  // struct flags { unsigned int a:3; int b:5; _Bool on:1; unsigned long long wide:40; (bits 9..48) }
  const flags = b.addComposite('struct', 'flags', 8, [
    { name: 'a', type: u32, bitOffset: 0, bitfieldSize: 3 },
    { name: 'b', type: s32, bitOffset: 3, bitfieldSize: 5 },
    { name: 'on', type: boolT, bitOffset: 8, bitfieldSize: 1 },
    { name: 'wide', type: u64, bitOffset: 9, bitfieldSize: 40 },
  ]);
  b.addComposite('struct', 'event', 152, [
    { name: 'pid', type: u32t, bitOffset: 0 },
    { name: 'lvl', type: level, bitOffset: 32 },
    { name: 'ok', type: boolT, bitOffset: 40 },
    { name: 'comm', type: comm, bitOffset: 48 },
    { name: 'mac', type: mac, bitOffset: 176 },
    { name: 'words', type: words, bitOffset: 224 },
    { name: 'grid', type: grid, bitOffset: 320 },
    { name: 'addr', type: ptr, bitOffset: 384 },
    { name: 'ts', type: s64, bitOffset: 448 },
    { name: 'v', type: value, bitOffset: 512 },
    { name: '', type: anonUnion, bitOffset: 544 },
    { name: '', type: anonStruct, bitOffset: 576 },
    { name: 'f', type: flags, bitOffset: 704 },
    { name: 'big', type: big, bitOffset: 768 },
    { name: 'ratio', type: dbl, bitOffset: 832 },
    { name: 'temp', type: flt, bitOffset: 896 },
    { name: 'pts', type: points, bitOffset: 928 },
    { name: 'huge', type: s128, bitOffset: 1088 },
    { name: 'tail', type: flex, bitOffset: 1216 },
  ]);
  // Names that are not TypeScript identifiers as they are, or that collide.
  b.addStruct('default', 4, [['x', s32, 0]]);
  b.addTypedef('string', s32);
  b.addStruct('foo', 4, [['x', s32, 0]]);
  b.addStruct('foo___v2', 4, [['x', s32, 0]]);
  b.addTypedef('foo', u64); // not `struct foo`: both need a name
  b.addEnum('fooCodec', [['FOO_A', 1]]); // its const object would take the codec's name
  b.addStruct('Uint8Array', 1, [['x', u8, 0]]);
  const self = b.addStruct('pair', 4, [['n', s32, 0]]);
  b.addTypedef('pair', self); // `typedef struct pair pair;`
  b.addTypedef('opaque_t', b.addFwd('opaque'));
  b.addTypedef('counter_t', b.addStruct('', 4, [['counter', s32, 0]])); // typedef struct { int counter; } counter_t;
  return parseBtf(b.encode());
}

const plain = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('bpfkit gen types: types and codecs', () => {
  const btf = sampleBtf();
  const code = generateBtfTypes(btf, { source: 'sample' });
  const mod = loadGenerated(code);

  it('imports nothing but bpfkit', () => {
    expect([...code.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual(['bpfkit']);
  });

  it('declares types for structs, unions, enums, typedefs, bitfields and anonymous members', () => {
    expect(code).toMatch(/export interface event \{[^}]*pid: __u32;/);
    expect(code).toMatch(/lvl: level;/);
    expect(code).toMatch(/comm: string;/);
    expect(code).toMatch(/mac: Uint8Array;/);
    expect(code).toMatch(/words: __u32\[\];/);
    expect(code).toMatch(/grid: number\[\]\[\];/);
    expect(code).toMatch(/addr: bigint;/);
    // the anonymous union's and struct's members are the parent's, as in C
    expect(code).toMatch(/a: number;\s+b: number;\s+lo: bigint;\s+hi: bigint;/);
    expect(code).toMatch(/export interface flags \{\s+a: number;\s+b: number;\s+on: boolean;\s+wide: bigint;\s+\}/);
    expect(code).toMatch(/export const level = \{ "LOW": -1, "MID": 0, "HIGH": 1 \} as const;/);
    expect(code).toMatch(/export type level = \(typeof level\)\[keyof typeof level\];/);
    expect(code).toMatch(/export const big = \{ "HUGE": 1099511627776n, "SMALL": 2n \} as const;/);
    expect(code).toMatch(/huge: bigint;/);
    expect(code).toMatch(/pts: point\[\];/);
    expect(code).toMatch(/tail: number\[\];/);
  });

  it('maps C names to valid, collision-free identifiers', () => {
    expect(code).toMatch(/export interface default_ \{/);
    expect(code).toMatch(/export type string_ = number;/);
    expect(code).toMatch(/export interface foo \{/);
    expect(code).toMatch(/export interface foo___v2 \{/);
    expect(code).toMatch(/export type foo_2 = bigint;/); // typedef foo, after struct foo
    expect(code).toMatch(/export interface Uint8Array_ \{/);
    // `typedef struct pair pair;` is one type
    expect(code.match(/export (interface|type) pair\b/g)).toHaveLength(1);
    // the enum fooCodec keeps its name; struct foo's codec moves aside
    expect(code).toMatch(/export const fooCodec = \{ "FOO_A": 1 \} as const;/);
    expect(code).toMatch(/export const fooCodec_2: \$bpfkit\.Codec<foo> =/);
    // a typedef of an incomplete type has no codec
    expect(code).not.toMatch(/opaque_t/);
    const declared = [...code.matchAll(/^export (?:const|function) ([A-Za-z0-9_$]+)/gm)].map((m) => m[1]);
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('round-trips values through the generated codecs', () => {
    const event = mod.eventCodec as Codec<Record<string, unknown>>;
    expect(event.size).toBe(152);
    expect(event.name).toBe('struct event');
    const value = {
      pid: 4242,
      lvl: -1,
      ok: true,
      comm: 'nginx',
      mac: new Uint8Array([1, 2, 3, 4, 5, 6]),
      words: [1, 2, 0xffffffff],
      grid: [
        [1, 2],
        [3, 65535],
      ],
      addr: 0xffff888812345678n,
      ts: -5n,
      v: { u: 0x01020304, s: 0x01020304, raw: new Uint8Array([4, 3, 2, 1]) },
      a: 0x00070007,
      b: 7,
      lo: 1n,
      hi: (1n << 64n) - 1n,
      f: { a: 5, b: -3, on: true, wide: (1n << 40n) - 2n },
      big: 1n << 40n,
      ratio: 0.25,
      temp: 1.5,
      pts: [
        { x: 1, y: -1 },
        { x: 2, y: -2 },
      ],
      huge: -(1n << 100n),
      tail: [],
    };
    const bytes = new Uint8Array(event.size);
    event.encode(value, bytes);
    expect(plain(event.decode(bytes))).toEqual(plain(value));
    // The same bytes read by the BTF-driven codec of @bpfkit/elf.
    const reference = btfCodec(btf, 'struct event').decode(bytes) as Record<string, unknown>;
    expect(plain({ ...(event.decode(bytes) as object), tail: undefined })).toEqual(plain({ ...reference, tail: undefined }));
  });

  it('decodes any bytes as the BTF-driven codec does', () => {
    for (const [name, codecName] of [
      ['struct flags', 'flagsCodec'],
      ['struct point', 'pointCodec'],
      ['union value', 'valueCodec'],
    ] as const) {
      const codec = mod[codecName] as Codec<unknown>;
      const reference = btfCodec(btf, name);
      for (let seed = 1; seed <= 20; seed++) {
        const bytes = randomBytes(codec.size, seed);
        expect(plain(codec.decode(bytes))).toEqual(plain(reference.decode(bytes)));
        // decode → encode → decode gives the same value (padding bits aside, the same bytes)
        const again = new Uint8Array(codec.size);
        codec.encode(codec.decode(bytes), again);
        expect(plain(codec.decode(again))).toEqual(plain(codec.decode(bytes)));
      }
    }
  });

  it("structCodecs: 'layout' (what vmlinux gets) decodes and encodes as the core struct() does", () => {
    const layout = generateBtfTypes(btf, { structCodecs: 'layout' });
    expect(layout).not.toMatch(/\$bpfkit\.struct\(/);
    const other = loadGenerated(layout);
    for (const name of ['eventCodec', 'pointCodec', 'default_Codec']) {
      const a = mod[name] as Codec<unknown>;
      const b = other[name] as Codec<unknown>;
      expect([b.size, b.name]).toEqual([a.size, a.name]);
      for (let seed = 1; seed <= 10; seed++) {
        const bytes = randomBytes(a.size, seed);
        bytes.fill(0, 6, 22); // a valid C string where event has one
        const value = a.decode(bytes);
        expect(plain(b.decode(bytes))).toEqual(plain(value));
        const x = new Uint8Array(a.size);
        const y = new Uint8Array(a.size);
        a.encode(value, x);
        b.encode(value, y);
        expect(y).toEqual(x);
      }
    }
  });

  it('names the codec of `typedef struct { … } name` after the typedef', () => {
    expect(code).toMatch(/export type counter_t = \{ counter: number \};/);
    expect((mod.counter_tCodec as Codec<unknown>).name).toBe('counter_t');
  });

  it('enums are const objects with their codecs', () => {
    expect(mod.level).toEqual({ LOW: -1, MID: 0, HIGH: 1 });
    expect(mod.big).toEqual({ HUGE: 1n << 40n, SMALL: 2n });
    expect(mod.sbig).toEqual({ NEG: -5n, POS: 1n << 62n });
    const sbig = mod.sbigCodec as Codec<bigint>;
    const eight = new Uint8Array(8);
    sbig.encode(-5n, eight);
    expect(sbig.decode(eight)).toBe(-5n);
    const levelCodec = mod.levelCodec as Codec<number>;
    const b = new Uint8Array(1);
    levelCodec.encode(-1, b);
    expect(b[0]).toBe(0xff);
    expect((mod.bigCodec as Codec<bigint>).size).toBe(8);
  });

  it('refuses values that do not fit, saying what was expected', () => {
    const flags = mod.flagsCodec as Codec<Record<string, unknown>>;
    expect(() => flags.encode({ a: 8, b: 0, on: false, wide: 0n }, new Uint8Array(8))).toThrow(/flags\.a.*from 0 to 7/);
    const event = mod.eventCodec as Codec<Record<string, unknown>>;
    expect(() => event.encode({ pid: 1 }, new Uint8Array(152))).toThrow(/a value for member 'lvl'/);
  });

  it('--types keeps the named types and what they hold by value', () => {
    const only = generateBtfTypes(btf, { types: ['struct flags', 'point'] });
    expect(only).toMatch(/export interface flags/);
    expect(only).toMatch(/export interface point/);
    expect(only).not.toMatch(/export interface event/);
    const withDeps = generateBtfTypes(btf, { types: ['event'] });
    expect(withDeps).toMatch(/export interface flags/);
    expect(withDeps).toMatch(/export type __u32 = number/);
    expect(withDeps).not.toMatch(/export interface default_/);
    expect(() => generateBtfTypes(btf, { types: ['struct nope'] })).toThrow(/names of structs.*nope/);
  });

  it("split BTF (a kernel module's) gets its own types and the base's it holds by value", () => {
    const base = new BtfBuilder();
    const int = base.addInt('int', 4, true);
    base.addStruct('base_only', 4, [['x', int, 0]]);
    const held = base.addStruct('held', 4, [['y', int, 0]]);
    const baseBytes = base.encode();
    const mod = BtfBuilder.splitOf(parseBtf(baseBytes));
    mod.addStruct('module_thing', 8, [
      ['h', held, 0],
      ['z', int, 4],
    ]);
    const code = generateTypes(mod.encode(), { base: baseBytes });
    expect(code).toMatch(/export interface module_thing \{\s+h: held;\s+z: number;\s+\}/);
    expect(code).toMatch(/export interface held \{/);
    expect(code).not.toMatch(/base_only/);
  });

  it('reads BTF files and refuses what is neither BTF nor ELF', () => {
    const b = new BtfBuilder();
    b.addStruct('s', 4, [['x', b.addInt('int', 4, true), 0]]);
    expect(generateTypes(b.encode())).toMatch(/export interface s \{/);
    expect(() => generateTypes(new Uint8Array([1, 2, 3, 4]))).toThrow(/neither an ELF object.*nor a BTF blob/);
  });
});

describe('names', () => {
  it('makes identifiers valid and unique', () => {
    expect(identifier('class')).toBe('class_');
    expect(identifier('number', 'type')).toBe('number_');
    expect(identifier('number', 'value')).toBe('number');
    expect(identifier('9lives')).toBe('_9lives');
    const t = new NameTable('type');
    expect([t.claim('a'), t.claim('a'), t.claim('a_2')]).toEqual(['a', 'a_2', 'a_2_2']);
  });
});

describe('bpfkit gen types: the skeleton of an object', () => {
  const file = path.resolve(import.meta.dirname, '../../testdata/gen.bpf.o');
  const bytes = new Uint8Array(fs.readFileSync(file));
  const code = generateTypes(bytes, { source: 'gen.bpf.o' });
  const mod = loadGenerated(code);

  it('types the maps by their BTF definitions, the programs, constants and variables', () => {
    const maps = /export interface GenMaps \{([^}]*)\}/.exec(code)![1]!;
    expect(maps.trim().split(/\n\s*/).sort()).toEqual([
      'counts: $bpfkit.Map<__u32, __u64[]>;',
      'events: $bpfkit.Map;',
      'last: $bpfkit.Map<key, event>;',
      'notes: $bpfkit.Map;',
    ]);
    expect(code).toMatch(/export interface GenPrograms \{\s+emit: \$bpfkit\.Program;\s+\}/);
    expect(code).toMatch(
      /export interface GenConstants \{\s+target_pid\?: __u32;\s+cfg\?: config;\s+offset\?: __s64;\s+report\?: kind;\s+\}/,
    );
    expect(code).toMatch(/seen: \$bpfkit\.TypedVariable<__u64>;/);
    expect(code).toMatch(/version: \$bpfkit\.TypedVariable<__u32>;/);
  });

  it("infers the ring buffer's and perf event array's record types from the sizes the program reserves and outputs", () => {
    expect(code).toMatch(
      /export const GenRecords: \{ events: \$bpfkit\.Codec<event>; notes: \$bpfkit\.Codec<note> \} = \{ events: eventCodec, notes: noteCodec \};/,
    );
    expect(code).toMatch(/events: inferred: every record the programs reserve or output on it has 40 bytes/);
    expect(code).toMatch(/notes: inferred: every record the programs reserve or output on it has 12 bytes/);
    // Named by the caller instead:
    const named = generateTypes(bytes, { source: 'gen.bpf.o', ringBuffers: { events: 'struct key' } });
    expect(named).toMatch(/GenRecords: \{ events: \$bpfkit\.Codec<key>; notes: \$bpfkit\.Codec<note> \}/);
    expect(() => generateTypes(bytes, { ringBuffers: { last: 'struct key' } })).toThrow(
      /a ring buffer or perf event array of the object \(events, notes\)/,
    );
    expect(() => generateTypes(bytes, { ringBuffers: { events: 'struct nope' } })).toThrow(/record type/);
  });

  type Load = (
    system: bpfkit.System,
    object: string,
    options?: object,
  ) => bpfkit.Skeleton<
    {
      events: bpfkit.Map;
      notes: bpfkit.Map;
      last: bpfkit.Map<Record<string, unknown>, Record<string, unknown>>;
      counts: bpfkit.Map<number, bigint[]>;
    },
    { emit: bpfkit.Program },
    Record<string, bpfkit.TypedVariable<unknown>>
  >;

  /** One body for both backends: load with typed constants, run the program, read everything back typed. */
  function loadsAndRuns(system: bpfkit.System): void {
    const load = mod.loadGen as Load;
    using skel = load(system, file, {
      constants: { target_pid: 4242, cfg: { min_size: 100, ports: [8080, 9090] }, offset: -50n, report: 2 },
    });
    expect(skel.variables.target_pid!.get()).toBe(4242);
    expect(skel.variables.cfg!.get()).toEqual({ min_size: 100, ports: [8080, 9090] });
    expect(skel.variables.version!.get()).toBe(7);
    skel.variables.version!.set(9);
    expect(() => skel.variables.target_pid!.set(1)).toThrow(/rodata is frozen/);
    const records = mod.GenRecords as { events: Codec<Record<string, unknown>>; notes: Codec<Record<string, unknown>> };
    using reader = system.openRingBuffer(skel.maps.events, { codec: records.events });
    using notes = system.openPerfEventArray(skel.maps.notes, { codec: records.notes });
    expect(skel.programs.emit.testRun({ data: new Uint8Array(64) }).returnValue).toBe(2);
    const expected = { pid: 4242, kind: 2, comm: 'gen', ts: -50n + 100n + 9090n, flags: 5, urgent: 1, code: 9, status: 9 };
    expect(reader.readAvailable()).toEqual([expected]);
    expect(notes.readAvailable()).toEqual([{ pid: 4242, code: -7, seq: 1 }]);
    expect(skel.variables.last_note!.get()).toEqual({ pid: 4242, code: -7, seq: 1 });
    expect(skel.maps.last.lookup({ id: 4242, port: 8080, proto: 6, pad: 0 })).toEqual(expected);
    expect(skel.maps.counts.lookup(0)!.reduce((a, b) => a + b, 0n)).toBe(1n);
    expect(skel.variables.seen!.get()).toBe(1n);
    expect(() => load(system, file, { constants: { seen: 1 } })).toThrow(/constants of the object \(target_pid, cfg, offset, report\)/);
  }

  it('loads on the mock backend with typed constants; maps, variables and ring buffer records come typed', () => {
    using system = new bpfkit.MockSystem();
    loadsAndRuns(system);
  });

  it('a skeleton generated with --types loads too (types left out are spelled out under their C names)', () => {
    const narrow = loadGenerated(generateTypes(bytes, { source: 'gen.bpf.o', types: ['kind'] }));
    using system = new bpfkit.MockSystem();
    using skel = (narrow.loadGen as Load)(system, file, { constants: { target_pid: 1 } });
    skel.programs.emit.testRun({ data: new Uint8Array(64) });
    expect(skel.maps.last.lookup({ id: 1, port: 80, proto: 6, pad: 0 })).toMatchObject({ pid: 1, kind: 1, comm: 'gen' });
  });

  whenKernel('program:xdp', 'map:ringbuf').it('loads on the kernel the same way', () => {
    using system = new bpfkit.NativeSystem();
    loadsAndRuns(system);
  });
});

const repo = path.resolve(import.meta.dirname, '../../../..');
const VMLINUX = '/sys/kernel/btf/vmlinux';

/** Runs `tsc --strict --noEmit` on generated files in a temporary directory, `bpfkit` resolved to this package's sources. */
function typeCheck(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-gen-'));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'ESNext.Disposable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [path.join(repo, 'node_modules/@types')],
        customConditions: ['@bpfkit/source'],
        paths: { bpfkit: [path.join(repo, 'packages/bpfkit/src/index.ts')] },
      },
      files: Object.keys(files),
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const run = spawnSync(
      process.execPath,
      [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', dir, '--strict', '--noEmit', '--skipLibCheck'],
      {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
    );
    return `${run.stdout}${run.stderr}`.trim() + (run.status === 0 ? '' : `\n(exit ${run.status})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * {@link typeCheck}, remembering a pass: the check of all of vmlinux takes
 * minutes, and CI runs the suite on three Node versions with the same
 * generated code. A pass is kept (in ~/.cache/bpfkit/tsc-checks) under the
 * hash of the files, the TypeScript version and every source of the
 * packages `bpfkit` resolves to; any change of those checks again.
 */
function typeCheckRemembered(files: Record<string, string>): string {
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify(files));
  hash.update(fs.readFileSync(path.join(repo, 'node_modules/typescript/package.json')));
  const packages = path.join(repo, 'packages');
  for (const pkg of fs.readdirSync(packages).sort()) {
    const src = path.join(packages, pkg, 'src');
    if (!fs.existsSync(src)) continue;
    for (const file of (fs.readdirSync(src, { recursive: true }) as string[]).sort()) {
      if (file.endsWith('.ts') && !file.endsWith('.test.ts')) hash.update(file).update(fs.readFileSync(path.join(src, file)));
    }
  }
  const marker = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'bpfkit', 'tsc-checks', hash.digest('hex'));
  if (fs.existsSync(marker)) return '';
  const result = typeCheck(files);
  if (result === '') {
    try {
      fs.mkdirSync(path.dirname(marker), { recursive: true });
      fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
    } catch {
      // A home that cannot be written: the next run checks again.
    }
  }
  return result;
}

describe('bpfkit gen types: the generated code compiles under tsc --strict', () => {
  it('for small BTF (codecs checked against the types by TypeScript) and an object skeleton', () => {
    const sample = generateBtfTypes(sampleBtf());
    expect(sample).toMatch(/\$bpfkit\.struct\(/); // plain structs use the core struct(), whose value type tsc checks
    const skeleton = generateTypes(new Uint8Array(fs.readFileSync(path.resolve(import.meta.dirname, '../../testdata/gen.bpf.o'))), {
      source: 'gen.bpf.o',
    });
    const user = [
      "import { MockSystem } from 'bpfkit';",
      "import { loadGen, GenRecords, kind, type event } from './gen.js';",
      'using system = new MockSystem();',
      "using skel = loadGen(system, 'gen.bpf.o', { constants: { target_pid: 1, cfg: { min_size: 1, ports: [1, 2] }, report: kind.KIND_EXIT } });",
      'const e: event | undefined = skel.maps.last.lookup({ id: 1, port: 2, proto: 6, pad: 0 });',
      'const n: bigint = skel.variables.seen.get();',
      'const records = system.openRingBuffer(skel.maps.events, { codec: GenRecords.events });',
      'void [e, n, records];',
      '// @ts-expect-error: a constant of the wrong type',
      "loadGen(system, 'gen.bpf.o', { constants: { target_pid: 'x' } });",
      '// @ts-expect-error: not a constant',
      "loadGen(system, 'gen.bpf.o', { constants: { seen: 1n } });",
      'export {};',
    ].join('\n');
    // A big-endian object: integer codecs of the target's byte order.
    const bigEndian = generateTypes(new Uint8Array(fs.readFileSync(path.resolve(import.meta.dirname, '../../testdata/gen.bpf.eb.o'))), {
      source: 'gen.bpf.eb.o',
    });
    expect(bigEndian).toMatch(/const \$u32be = \$bpfkit\.integerCodec\(\{ bits: 32, signed: false, byteOrder: 'big' \}\);/);
    expect(typeCheck({ 'sample.ts': sample, 'gen.ts': skeleton, 'user.ts': user, 'gen-eb.ts': bigEndian })).toBe('');
  });

  it.skipIf(!fs.existsSync(VMLINUX))(
    `for all of ${VMLINUX} (a pass remembered per code, TypeScript and sources; skipped where the kernel has no BTF)`,
    { timeout: 30 * 60_000 },
    () => {
      const code = generateTypes(new Uint8Array(fs.readFileSync(VMLINUX)), { source: 'vmlinux' });
      expect(code).toMatch(/export interface task_struct \{/);
      expect(typeCheckRemembered({ 'vmlinux.ts': code })).toBe('');
      // And it runs: every codec builds, and decodes and encodes a value of zeros.
      const mod = loadGenerated(code);
      let codecs = 0;
      for (const [name, value] of Object.entries(mod)) {
        if (!name.endsWith('Codec') && !/Codec_\d+$/.test(name)) continue;
        const codec = value as Codec<unknown>;
        if (typeof codec?.decode !== 'function') continue; // an enum's const object named so
        const bytes = new Uint8Array(codec.size);
        codec.encode(codec.decode(bytes), bytes);
        expect(bytes.every((b) => b === 0)).toBe(true);
        codecs++;
      }
      expect(codecs).toBeGreaterThan(1000);
    },
  );
});
