import { InvalidArgumentError } from '@bpfkit/core';
import { ParseError } from './errors.js';
import { parseBtf } from './btf/parse.js';
import type { Btf } from './btf/parse.js';
import { parseBtfExt } from './btf/ext.js';
import type { BtfExt } from './btf/ext.js';
import { parseElf } from './elf/parse.js';
import type { ElfFile } from './elf/parse.js';
import { externsFromObject } from './externs/externs.js';
import type { ObjectExterns } from './externs/externs.js';
import { mapsFromBtf } from './maps/btf-maps.js';
import type { BtfMapSpec } from './maps/btf-maps.js';
import { globalData, rewriteConstants } from './maps/global-data.js';
import type { ConstantValue, GlobalDataSpec } from './maps/global-data.js';
import { mapsFromLegacySection } from './maps/legacy-maps.js';
import { mapInitialValues } from './maps/map-values.js';
import type { MapInitialValue } from './maps/map-values.js';
import { programsFromElf } from './programs/extract.js';
import { structOpsFromElf } from './maps/struct-ops.js';
import type { StructOpsMapSpec } from './maps/struct-ops.js';
import type { ElfProgramSpec } from './programs/extract.js';

/**
 * Everything a loader needs from a BPF object, read without touching the
 * kernel: maps (BTF and legacy) with their initial slots, global data,
 * linked programs with their relocations, externs, BTF and BTF.ext.
 */
export interface ObjectSpec {
  elf: ElfFile;
  littleEndian: boolean;
  /** The object's BTF (absent when compiled without `-g`). */
  btf: Btf | undefined;
  /** Func/line info and CO-RE relocations (absent without `-g`). */
  btfExt: BtfExt | undefined;
  maps: Record<string, BtfMapSpec>;
  /** Initialised slots of prog arrays and map-in-maps, by map name. */
  initialValues: Record<string, MapInitialValue[]>;
  /** `.data`, `.rodata`, `.bss` and their named variants, by section name. */
  globals: Record<string, GlobalDataSpec>;
  programs: Record<string, ElfProgramSpec>;
  /** struct_ops maps (variables of `.struct_ops` / `.struct_ops.link`), by variable name. */
  structOps: Record<string, StructOpsMapSpec>;
  externs: ObjectExterns;
  license: string;
  /**
   * What the reader left out, and why: code in a section of no known
   * program type, a program that could not be linked (the others still
   * load). Loaders pass these on in `Collection.warnings`.
   */
  warnings: string[];
  /**
   * Sets `const volatile` globals of this spec in place (every later load
   * of it sees them). Loaders use {@link ObjectSpec.withConstants} instead,
   * so that each load gets exactly the constants it was given.
   *
   * @example
   * const spec = readObject(fs.readFileSync('prog.bpf.o'));
   * spec.rewriteConstants({ target_pid: 1234 });
   */
  rewriteConstants(values: Record<string, ConstantValue>): void;
  /**
   * A copy of this spec whose global data holds `values` (and the object's
   * own initial values elsewhere); this spec is left as it is.
   *
   * @example
   * const spec = readObject(fs.readFileSync('prog.bpf.o'));
   * const udp = spec.withConstants({ drop_protocol: 17 });
   * const plain = spec.withConstants({}); // .rodata as compiled
   */
  withConstants(values: Record<string, ConstantValue>): ObjectSpec;
}

/**
 * Reads a clang-compiled BPF object (bytes of an ELF file) into an
 * {@link ObjectSpec}: pure, no kernel and no file system.
 *
 * @example
 * const spec = readObject(fs.readFileSync('prog.bpf.o'));
 * Object.keys(spec.programs); // ['count_packets']
 */
export function readObject(bytes: Uint8Array): ObjectSpec {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('object', 'the bytes of a BPF ELF object (Uint8Array)', bytes);
  const elf = parseElf(bytes);
  const btfSection = elf.section('.BTF');
  const btf = btfSection ? parseBtf(elf.data(btfSection)) : undefined;
  const extSection = elf.section('.BTF.ext');
  const btfExt = btf && extSection ? parseBtfExt(elf.data(extSection), btf) : undefined;
  const maps = { ...mapsFromLegacySection(elf), ...(btf ? mapsFromBtf(btf) : {}) };
  const warnings: string[] = [];
  const programs = programsFromElf(elf, btf, btfExt, warnings);
  const names = new Set(Object.keys(programs));
  for (const name of Object.keys(maps)) {
    if (names.has(name)) throw new ParseError('ELF', `'${name}' names both a map and a program`);
  }
  const globals = globalData(elf, btf);
  const licenseSection = elf.section('license');
  const license = licenseSection ? new TextDecoder().decode(elf.data(licenseSection)).replace(/\0.*$/s, '') : '';
  return withMethods({
    elf,
    littleEndian: elf.littleEndian,
    btf,
    btfExt,
    maps,
    initialValues: btf ? mapInitialValues(elf, btf) : {},
    globals,
    programs,
    structOps: structOpsFromElf(elf, btf),
    externs: externsFromObject(elf, btf),
    license,
    warnings,
  });
}

/**
 * The spec of `parts` with its constants methods. The methods act on the
 * spec they are called on (`{ ...spec, programs }` keeps working: its
 * copies carry its programs), or on this one when called detached.
 */
function withMethods(parts: Omit<ObjectSpec, 'rewriteConstants' | 'withConstants'>): ObjectSpec {
  const spec: ObjectSpec = {
    ...parts,
    rewriteConstants(this: ObjectSpec | undefined, values: Record<string, ConstantValue>) {
      const self = this ?? spec;
      if (Object.keys(values).length === 0) return;
      if (!self.btf) throw new InvalidArgumentError('constants', 'an object with BTF (compile with -g) to find its globals', values);
      rewriteConstants(self.globals, values, self.btf, self.elf.littleEndian);
    },
    withConstants(this: ObjectSpec | undefined, values: Record<string, ConstantValue>) {
      const { rewriteConstants: _r, withConstants: _w, ...self } = this ?? spec;
      const copy = withMethods({
        ...self,
        globals: Object.fromEntries(Object.entries(self.globals).map(([k, g]) => [k, { ...g, contents: g.contents.slice() }])),
        warnings: [...self.warnings],
      });
      copy.rewriteConstants(values);
      return copy;
    },
  };
  return spec;
}
