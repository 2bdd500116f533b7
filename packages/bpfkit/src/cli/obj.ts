import fs from 'node:fs';
import path from 'node:path';
import {
  BpfError,
  Errno,
  InvalidArgumentError,
  MapFlags,
  VerifierError,
  attachTypeName,
  flagNames,
  mapTypeName,
  programTypeName,
} from '@bpfkit/core';
import type { LoadProgress, Map, MapSpec, Program } from '@bpfkit/core';
import { BtfKind, Elf, mapsFromLegacySection, readObject as readObjectSpec } from '@bpfkit/elf';
import type { Btf } from '@bpfkit/elf';
import { openPinnedMap } from '@bpfkit/maps';
import { gunzip, mounts } from '@bpfkit/syscalls';
import { textTable } from '../features/format.js';
import type { CliIo, ParsedArgs } from './main.js';
import type { Collection } from '../collection.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** `statfs` magic of bpffs (`BPF_FS_MAGIC`). */
const BPF_FS_MAGIC = 0xcafe4a11;

const SECTION_TYPES: Readonly<Record<number, string>> = {
  [Elf.SHT_NULL]: 'null',
  [Elf.SHT_PROGBITS]: 'progbits',
  [Elf.SHT_SYMTAB]: 'symtab',
  [Elf.SHT_STRTAB]: 'strtab',
  [Elf.SHT_RELA]: 'rela',
  [Elf.SHT_NOBITS]: 'nobits',
  [Elf.SHT_REL]: 'rel',
  1879002115: 'llvm_addrsig',
};

const BTF_KIND_NAMES: ReadonlyMap<number, string> = new globalThis.Map(Object.entries(BtfKind).map(([k, v]) => [v, k.toLowerCase()]));

/**
 * One map an object defines, as `obj inspect` reports it.
 *
 * @example
 * const m: ObjectMapReport = { name: 'flows', source: 'btf', type: 'hash', keySize: 12, valueSize: 8, maxEntries: 1024, flags: ['no_prealloc'], pinning: 'by-name' };
 */
export interface ObjectMapReport {
  name: string;
  /** `btf` (`.maps`) or `legacy` (`maps`). */
  source: 'btf' | 'legacy';
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: string[];
  pinning: string;
  inner?: Omit<ObjectMapReport, 'source' | 'pinning' | 'inner'>;
}

/**
 * What `bpfkit obj inspect` finds in an object file (its `--json` output).
 *
 * @example
 * const report: ObjectReport = inspectObject(fs.readFileSync('prog.bpf.o'));
 * report.globals.find((g) => g.section === '.rodata')?.variables; // [{ name: 'target_pid', offset: 0, size: 4 }, …]
 */
export interface ObjectReport {
  sections: { index: number; name: string; type: string; size: number; flags: string[] }[];
  maps: ObjectMapReport[];
  /** Slots of prog arrays and map-in-maps the object initialises, by map. */
  initialValues: Record<string, { slot: number; kind: 'program' | 'map'; target: string }[]>;
  globals: { section: string; size: number; readOnly: boolean; variables: { name: string; offset: number; size: number }[] }[];
  programs: {
    name: string;
    section: string;
    type: string;
    expectedAttachType: string | null;
    attachTo: string | null;
    instructions: number;
    references: { index: number; kind: string; target: string; offset: number }[];
    funcInfo: number;
    lineInfo: number;
    coreRelocations: number;
  }[];
  /** struct_ops maps (`.struct_ops*` variables): the kernel struct each implements and the program behind each function. */
  structOps: { name: string; section: string; kernelType: string; functions: { member: string; program: string }[] }[];
  /** `__kconfig` and `__ksym` externs, resolved at load. */
  externs: { name: string; kind: 'kconfig' | 'ksym'; weak: boolean; function: boolean }[];
  license: string;
  btf: { types: number; kinds: Record<string, number>; ext: boolean } | null;
}

/**
 * Everything `bpfkit obj inspect` shows about a BPF object, from its bytes:
 * sections, maps (BTF and legacy), global data with its variables, programs
 * with their references, and a BTF summary.
 *
 * @throws ParseError when the bytes are not a BPF object
 * @example
 * inspectObject(fs.readFileSync('prog.bpf.o')).programs.map((p) => p.name);
 */
export function inspectObject(bytes: Uint8Array): ObjectReport {
  const spec = readObjectSpec(bytes);
  const { elf, btf } = spec;
  const legacy = new Set(Object.keys(mapsFromLegacySection(elf)));
  const maps: ObjectMapReport[] = Object.entries(spec.maps).map(([name, s]) =>
    mapReport(name, s, legacy.has(name) && !btf?.find(name) ? 'legacy' : 'btf'),
  );
  return {
    sections: elf.sections
      .filter((s) => s.type !== Elf.SHT_NULL)
      .map((s) => ({
        index: s.index,
        name: s.name,
        type: SECTION_TYPES[s.type] ?? `0x${s.type.toString(16)}`,
        size: s.size,
        flags: sectionFlags(s.flags),
      })),
    maps,
    initialValues: spec.initialValues,
    globals: Object.values(spec.globals).map((g) => ({
      section: g.section,
      size: g.valueSize,
      readOnly: g.readOnly,
      variables: g.variables.map((v) => ({ name: v.name, offset: v.offset, size: v.size })),
    })),
    structOps: Object.values(spec.structOps).map((m) => ({
      name: m.name,
      section: m.section,
      kernelType: m.kernelTypeName,
      functions: m.functions.map((f) => ({ member: f.member, program: f.program })),
    })),
    externs: spec.externs.externs.map((e) => ({ name: e.name, kind: e.kind, weak: e.weak, function: e.isFunc })),
    programs: Object.values(spec.programs).map((p) => ({
      name: p.name,
      section: p.section,
      type: programTypeName(p.type),
      expectedAttachType: p.expectedAttachType !== undefined ? attachTypeName(p.expectedAttachType) : null,
      attachTo: p.attachTo ?? null,
      instructions: p.instructions.byteLength / 8,
      references: p.references.map(({ index, kind, target, offset }) => ({ index, kind, target, offset })),
      funcInfo: p.funcInfo.length,
      lineInfo: p.lineInfo.length,
      coreRelocations: p.coreRelocations.length,
    })),
    license: spec.license,
    btf: btf ? btfSummary(btf, spec.btfExt !== undefined) : null,
  };
}

function mapReport(name: string, s: MapSpec, source: 'btf' | 'legacy'): ObjectMapReport {
  const base = {
    name,
    type: mapTypeName(s.type),
    keySize: s.keySize,
    valueSize: s.valueSize,
    maxEntries: s.maxEntries,
    flags: flagNames(MapFlags, s.flags ?? 0),
  };
  const inner = s.innerMap;
  return {
    ...base,
    source,
    pinning: s.pinning ?? 'none',
    ...(inner
      ? {
          inner: {
            name: inner.name ?? `${name}.inner`,
            type: mapTypeName(inner.type),
            keySize: inner.keySize,
            valueSize: inner.valueSize,
            maxEntries: inner.maxEntries,
            flags: flagNames(MapFlags, inner.flags ?? 0),
          },
        }
      : {}),
  };
}

/** `SHF_*` section flags (elf.h) by bit. */
const SECTION_FLAGS: readonly [bigint, string][] = [
  [0x1n, 'write'],
  [0x2n, 'alloc'],
  [0x4n, 'execinstr'],
  [0x10n, 'merge'],
  [0x20n, 'strings'],
  [0x40n, 'info_link'],
  [0x80n, 'link_order'],
  [0x200n, 'group'],
  [0x400n, 'tls'],
  [0x800n, 'compressed'],
  [0x80000000n, 'exclude'],
];

function sectionFlags(flags: bigint): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of SECTION_FLAGS) {
    if (flags & bit) out.push(name);
    rest &= ~bit;
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

function btfSummary(btf: Btf, ext: boolean): NonNullable<ObjectReport['btf']> {
  const kinds: Record<string, number> = {};
  // Type 0 is `void`, implicit in every BTF.
  for (const t of btf.types.slice(1)) {
    if (!t) continue;
    const k = BTF_KIND_NAMES.get(t.kind) ?? `kind${t.kind}`;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return { types: Object.values(kinds).reduce((a, b) => a + b, 0), kinds, ext };
}

/** Reads an object file; a missing or unreadable file is a typed error naming it. */
function readObject(file: string | undefined): Uint8Array {
  if (!file) throw new InvalidArgumentError('file', 'a BPF object file (clang -target bpf -c)', file);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.errno !== 'number') throw err;
    throw new BpfError(
      Math.abs(e.errno),
      { syscall: 'open', subject: `object '${file}'`, hint: 'cannot read the object file' },
      { cause: err },
    );
  }
}

function printInspect(r: ObjectReport, io: CliIo): void {
  io.out('sections:');
  io.out(
    indent(
      textTable(
        ['idx', 'name', 'type', 'size', 'flags'],
        r.sections.map((s) => [String(s.index), s.name, s.type, String(s.size), s.flags.join(',') || '-']),
      ),
    ),
  );
  io.out('\nmaps:');
  io.out(
    r.maps.length === 0
      ? '  (none)'
      : indent(
          textTable(
            ['name', 'source', 'type', 'key', 'value', 'max entries', 'flags', 'pinning'],
            r.maps.map((m) => [
              m.name + (m.inner ? ` (inner: ${m.inner.type} ${m.inner.keySize}/${m.inner.valueSize}/${m.inner.maxEntries})` : ''),
              m.source,
              m.type,
              String(m.keySize),
              String(m.valueSize),
              String(m.maxEntries),
              m.flags.join(',') || '-',
              m.pinning,
            ]),
          ),
        ),
  );
  io.out('\nglobal data:');
  if (r.globals.length === 0) io.out('  (none)');
  for (const g of r.globals) {
    io.out(`  ${g.section} (${g.size} bytes${g.readOnly ? ', read-only' : ''})`);
    if (g.variables.length)
      io.out(
        indent(
          textTable(
            ['variable', 'offset', 'size'],
            g.variables.map((v) => [v.name, String(v.offset), String(v.size)]),
          ),
          4,
        ),
      );
  }
  const slots = Object.entries(r.initialValues);
  if (slots.length) {
    io.out('\ninitial map slots:');
    for (const [map, values] of slots) io.out(`  ${map}: ${values.map((v) => `[${v.slot}] = ${v.kind} ${v.target}`).join(', ')}`);
  }
  for (const m of r.structOps) {
    io.out(`\nstruct_ops ${m.name} (${m.section}): struct ${m.kernelType}`);
    for (const f of m.functions) io.out(`  .${f.member} = ${f.program}`);
  }
  if (r.externs.length) {
    io.out('\nexterns:');
    io.out(
      indent(
        textTable(
          ['name', 'kind', 'weak'],
          r.externs.map((e) => [e.name, e.function ? 'kfunc' : e.kind, e.weak ? 'yes' : 'no']),
        ),
      ),
    );
  }
  io.out('\nprograms:');
  io.out(
    r.programs.length === 0
      ? '  (none)'
      : indent(
          textTable(
            ['name', 'section', 'type', 'attach type', 'attach to', 'insns', 'func/line info', 'co-re', 'references'],
            r.programs.map((p) => [
              p.name,
              p.section,
              p.type,
              p.expectedAttachType ?? '-',
              p.attachTo ?? '-',
              String(p.instructions),
              `${p.funcInfo}/${p.lineInfo}`,
              String(p.coreRelocations),
              referenceSummary(p.references),
            ]),
          ),
        ),
  );
  io.out(`\nlicense: ${r.license || '(none)'}`);
  if (!r.btf) io.out('btf: none (compile with -g for BTF maps, globals and CO-RE)');
  else {
    io.out(
      `btf: ${r.btf.types} types (${Object.entries(r.btf.kinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}), .BTF.ext: ${r.btf.ext ? 'yes' : 'no'}`,
    );
  }
}

/** `map flows x2, global .bss+0, extern foo`: each distinct reference once, with a count. */
function referenceSummary(refs: ObjectReport['programs'][number]['references']): string {
  const counts = new globalThis.Map<string, number>();
  for (const r of refs) {
    const key = r.kind === 'map' ? `map ${r.target}` : r.kind === 'map_value' ? `global ${r.target}+${r.offset}` : `${r.kind} ${r.target}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ') || '-';
}

const indent = (text: string, n = 2) =>
  text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** One program's outcome in `obj load`. */
interface ProgramResult {
  name: string;
  type: string;
  status: 'loaded' | 'failed' | 'not loaded';
  id?: number;
  tag?: string;
  xlatedSize?: number;
  jitedSize?: number;
  /** With --verbose: the verifier's statistics line ("processed N insns …"). */
  verifier?: string;
  pinned?: string;
}

/** One map's outcome in `obj load`. */
interface MapResult {
  name: string;
  type: string;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  pinned?: string;
}

/**
 * `bpfkit obj inspect|load`: what a BPF object holds, and loading it whole.
 *
 * @example
 * import { parseArgs } from './main.js';
 * await runObjCommand(parseArgs(['load', 'prog.bpf.o', '--pin', '/sys/fs/bpf/prog']), io);
 */
export async function runObjCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [sub, file] = args.positional;
  const asJson = args.flags.has('json');
  switch (sub) {
    case 'inspect': {
      const report = inspectObject(readObject(file));
      if (asJson) io.out(json(report));
      else printInspect(report, io);
      return 0;
    }
    case 'load':
      return loadObject(readObject(file), args, io);
    default:
      throw new InvalidArgumentError('obj command', 'one of inspect, load', sub);
  }
}

async function loadObject(bytes: Uint8Array, args: ParsedArgs, io: CliIo): Promise<number> {
  const asJson = args.flags.has('json');
  const pinDir = args.options.pin;
  if (pinDir !== undefined) checkBpffsDir(pinDir);
  // Read once: a failure can still list every program, and each retry loads the same spec.
  const spec = readObjectSpec(bytes);
  const warnings = [...spec.warnings];
  if (Object.keys(spec.programs).length === 0) {
    // Never a silent success: an object whose code bpfkit cannot type loads nothing.
    for (const w of warnings) io.err(`bpfkit obj load: warning: ${w}`);
    io.err('bpfkit obj load: the object holds no program bpfkit can load');
    return 1;
  }
  const results: ProgramResult[] = Object.values(spec.programs).map((s) => ({
    name: s.name,
    type: programTypeName(s.type),
    status: 'not loaded',
  }));
  const kconfig = args.options.kconfig === undefined ? undefined : readTextFile('--kconfig', args.options.kconfig);
  // Imported on demand: the other commands never load the whole loader.
  const { loadCollection } = await import('../collection.js');
  // Each program the kernel refuses is reported and left out (one failed BPF_PROG_LOAD each); the others
  // load together, sharing the maps, created once.
  // Without --pin nothing is pinned, not even maps that ask for it by name.
  let coll: Collection;
  try {
    coll = loadCollection(spec, {
      ...(pinDir !== undefined ? { pinPath: pinDir } : { ignorePinning: true }),
      programErrors: 'skip',
      // --verbose keeps each loaded program's verifier log for its statistics.
      ...(args.flags.has('verbose') ? { load: { logAlways: true } } : {}),
      // For a kernel whose config or BTF is not on this machine (or to try another kernel's).
      ...(kconfig !== undefined ? { kconfig } : {}),
      ...(args.options['kernel-btf'] !== undefined ? { kernelBtf: args.options['kernel-btf'] } : {}),
      ...(io.progress ? { onProgress: (p: LoadProgress) => io.progress!(`loading ${p.program} (${p.done + 1}/${p.total})…`) } : {}),
    });
  } finally {
    io.progress?.(undefined);
  }
  const failures = Object.entries(coll.programErrors).map(([program, error]) => ({ program, error }));
  // The warnings that say so are the failures' own lines below.
  const refusedWarning = /^program '.*' was not loaded: /;
  for (const f of failures) results.find((r) => r.name === f.program)!.status = 'failed';
  const report = (maps: MapResult[]): number => {
    if (asJson) {
      const errors = failures.map((f) => ({
        program: f.program,
        message: f.error.message,
        ...(args.flags.has('verbose') && f.error instanceof VerifierError ? { log: f.error.log } : {}),
      }));
      io.out(json({ programs: results, maps, ...(errors.length ? { errors } : {}), ...(warnings.length ? { warnings } : {}) }));
    } else {
      printLoad(results, maps, io);
      for (const w of warnings) io.err(`bpfkit obj load: warning: ${w}`);
    }
    for (const f of failures) {
      io.err(`bpfkit obj load: ${f.error.message}`);
      if (f.error instanceof VerifierError)
        io.err(args.flags.has('verbose') ? f.error.log.trimEnd() : '(--verbose prints the whole verifier log)');
    }
    return failures.length ? 1 : 0;
  };
  for (const w of coll.warnings) if (!warnings.includes(w) && !refusedWarning.test(w)) warnings.push(w);
  try {
    for (const r of results) {
      const prog = coll.programs[r.name];
      if (!prog) continue;
      const i = prog.info();
      Object.assign(r, { status: 'loaded', id: i.id, tag: i.tag, xlatedSize: i.xlatedSize, jitedSize: i.jitedSize });
      const stats = (prog as { verifierLog?: string }).verifierLog?.split('\n').find((l) => l.startsWith('processed '));
      if (stats) r.verifier = stats.trim();
    }
    const maps: MapResult[] = Object.entries(coll.maps).map(([name, m]) => {
      const i = m.info();
      return { name, type: mapTypeName(i.type), id: i.id, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries };
    });
    if (pinDir !== undefined) pinAll(pinDir, coll.programs, coll.maps, results, maps);
    return report(maps);
  } finally {
    // Pinned objects live on in bpffs; everything else goes away with the process's fds.
    coll.close();
  }
}

function printLoad(programs: readonly ProgramResult[], maps: readonly MapResult[], io: CliIo): void {
  const pinned = programs.some((p) => p.pinned) || maps.some((m) => m.pinned);
  const opt = (v: number | string | undefined) => (v === undefined ? '-' : String(v));
  io.out('programs:');
  io.out(
    indent(
      textTable(
        ['name', 'type', 'id', 'tag', 'xlated', 'jited', 'status', ...(pinned ? ['pinned'] : [])],
        programs.map((p) => [
          p.name,
          p.type,
          opt(p.id),
          opt(p.tag),
          opt(p.xlatedSize),
          opt(p.jitedSize),
          p.status,
          ...(pinned ? [opt(p.pinned)] : []),
        ]),
      ),
    ),
  );
  const verified = programs.filter((p) => p.verifier);
  if (verified.length) {
    io.out('\nverifier:');
    for (const p of verified) io.out(`  ${p.name}: ${p.verifier}`);
  }
  io.out('\nmaps:');
  io.out(
    maps.length === 0
      ? '  (none)'
      : indent(
          textTable(
            ['name', 'type', 'id', 'key', 'value', 'max entries', ...(pinned ? ['pinned'] : [])],
            maps.map((m) => [
              m.name,
              m.type,
              String(m.id),
              String(m.keySize),
              String(m.valueSize),
              String(m.maxEntries),
              ...(pinned ? [opt(m.pinned)] : []),
            ]),
          ),
        ),
  );
}

/** Refuses a pin directory that is missing or not on a bpf file system. */
function checkBpffsDir(dir: string): void {
  if (!dir || !path.isAbsolute(dir)) throw new InvalidArgumentError('--pin', 'an absolute directory path in a bpffs', dir);
  let st: fs.StatsFs;
  try {
    if (!fs.statSync(dir).isDirectory()) throw new InvalidArgumentError('--pin', 'a directory in a bpffs', dir);
    st = fs.statfsSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.errno !== 'number') throw err;
    throw new BpfError(Math.abs(e.errno), { syscall: 'stat', subject: `--pin directory '${dir}'` }, { cause: err });
  }
  if (st.type !== BPF_FS_MAGIC) {
    const resolved = path.resolve(dir);
    const fsType = mounts()
      .filter((m) => resolved === m.target || resolved.startsWith(m.target.endsWith('/') ? m.target : `${m.target}/`))
      .sort((a, b) => a.target.length - b.target.length)
      .at(-1)?.fstype;
    throw new InvalidArgumentError(
      '--pin',
      `a directory on a bpf file system (mount -t bpf bpf <dir>), not ${fsType ?? 'another file system'}`,
      dir,
    );
  }
}

/** The file name a map or program is pinned under: bpffs refuses names with dots, so `.rodata` becomes `_rodata` (as libbpf does). */
const pinName = (name: string) => name.replace(/\./g, '_');

/** Pins every program and map at `<dir>/<name>` (dots as `_`); on failure removes the pins it made and rethrows. */
function pinAll(dir: string, programs: Record<string, Program>, maps: Record<string, Map>, pr: ProgramResult[], mr: MapResult[]): void {
  const made: string[] = [];
  try {
    for (const r of mr) {
      const at = path.join(dir, pinName(r.name));
      if (fs.existsSync(at)) {
        // A `pinning: by-name` map: loadCollection reused or pinned it there already.
        using pinned = openPinnedMap(at);
        if (pinned.info().id !== r.id) {
          throw new BpfError(Errno.EEXIST, {
            syscall: 'bpf',
            command: 'BPF_OBJ_PIN',
            subject: `map '${r.name}'`,
            hint: `another map is pinned at ${at}`,
          });
        }
      } else {
        maps[r.name]!.pin(at);
        made.push(at);
      }
      r.pinned = at;
    }
    for (const r of pr) {
      const at = path.join(dir, pinName(r.name));
      programs[r.name]!.pin(at);
      made.push(at);
      r.pinned = at;
    }
  } catch (err) {
    for (const at of made) fs.rmSync(at, { force: true });
    throw err;
  }
}

/** A text file an option names, or an InvalidArgumentError saying why not (`.gz` files are unpacked). */
function readTextFile(option: string, file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(option, `a readable file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  return (file.endsWith('.gz') ? gunzip(bytes) : bytes).toString('utf8');
}
