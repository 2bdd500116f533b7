// Mutators of BPF objects, shared by the mutation test (object.test.ts, a
// bounded slice) and `pnpm fuzz [seconds]` (packages/elf/scripts/fuzz.mjs,
// for as long as asked). Pure: bytes in, bytes out; the callers read the seeds
// (testObjectFiles lists them).
import { InvalidArgumentError } from '@bpfkit/core';
import { encodeBtf } from '../btf/encode.js';
import type { Btf } from '../btf/parse.js';
import { resolveCoreRelocations } from '../co-re/resolve.js';
import { Elf, parseElf } from '../elf/parse.js';
import { ParseError } from '../errors.js';
import { objectBtfForKernel } from '../externs/externs.js';
import { patchObjectBtfForKernel } from '../externs/patch-btf.js';
import { readObject } from '../object.js';

/** The part of `node:fs` {@link testObjectFiles} reads with (this package uses no Node.js built-ins itself). */
export interface DirectoryReader {
  readdirSync(dir: string): string[];
  existsSync(path: string): boolean;
}

/** Every BPF object the packages under `packagesDir` keep as test data (`<package>/testdata/*.o`, both byte orders), sorted. */
export function testObjectFiles(packagesDir: string, fs: DirectoryReader): string[] {
  return fs
    .readdirSync(packagesDir)
    .flatMap((pkg) => {
      const dir = `${packagesDir}/${pkg}/testdata`;
      return fs.existsSync(dir)
        ? fs
            .readdirSync(dir)
            .filter((f) => f.endsWith('.o'))
            .map((f) => `${dir}/${f}`)
        : [];
    })
    .sort();
}

/** A uniform number in [0, 1). */
export type Rng = () => number;

/** A small deterministic generator (mulberry32): the same seed gives the same inputs. */
export function rngFrom(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A field of a record: byte offset in the record and width. */
type Field = readonly [offset: number, width: number];

/** The fields of the records of ELF64 and BPF, where corrupt values do harm. */
const FIELDS = {
  header: [
    [16, 2],
    [18, 2],
    [40, 8],
    [58, 2],
    [60, 2],
    [62, 2],
  ],
  // sh_name, sh_type, sh_flags, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
  section: [
    [0, 4],
    [4, 4],
    [8, 8],
    [24, 8],
    [32, 8],
    [40, 4],
    [44, 4],
    [48, 8],
    [56, 8],
  ],
  // st_name, st_info, st_other, st_shndx, st_value, st_size
  symbol: [
    [0, 4],
    [4, 1],
    [5, 1],
    [6, 2],
    [8, 8],
    [16, 8],
  ],
  // r_offset, r_info (and its halves: symbol and type in either byte order)
  relocation: [
    [0, 8],
    [8, 8],
    [8, 4],
    [12, 4],
  ],
  // opcode, registers, off, imm
  instruction: [
    [0, 1],
    [1, 1],
    [2, 2],
    [4, 4],
  ],
  // a u32 of a map definition, or a pointer of goebpf's
  mapDef: [
    [0, 4],
    [0, 8],
  ],
  bytes: [
    [0, 1],
    [0, 2],
    [0, 4],
    [0, 8],
  ],
} satisfies Record<string, Field[]>;

/** A byte range of a seed worth mutating: records of `stride` bytes with these fields. */
interface Region {
  offset: number;
  size: number;
  stride: number;
  fields: readonly Field[];
}

/** A seed object and the regions its mutations aim at. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  littleEndian: boolean;
  regions: Region[];
}

/** The sections of BTF, whose removal leaves an object as `clang -O2` without `-g` would have built it. */
const BTF_SECTIONS = new Set(['.BTF', '.BTF.ext', '.rel.BTF', '.rel.BTF.ext']);

/**
 * A copy of `bytes` without BTF: the section headers of `.BTF`, `.BTF.ext`
 * and their relocations become `SHT_NULL` with no name (the bytes stay, as
 * the object's size does). Undefined when the object has no BTF.
 */
export function withoutBtf(bytes: Uint8Array): Uint8Array | undefined {
  const elf = parseElf(bytes);
  const doomed = elf.sections.filter((s) => BTF_SECTIONS.has(s.name));
  if (doomed.length === 0) return undefined;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const shoff = Number(view.getBigUint64(40, elf.littleEndian));
  for (const s of doomed) {
    const at = shoff + s.index * 64;
    view.setUint32(at, 0, elf.littleEndian); // sh_name: ''
    view.setUint32(at + 4, Elf.SHT_NULL, elf.littleEndian);
  }
  return out;
}

/** A seed of the mutators: the object and where its headers, symbols, relocations, code and maps lie. */
export function seedOf(name: string, bytes: Uint8Array): Seed {
  const elf = parseElf(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const regions: Region[] = [
    { offset: 0, size: 64, stride: 64, fields: FIELDS.header },
    { offset: Number(view.getBigUint64(40, elf.littleEndian)), size: elf.sections.length * 64, stride: 64, fields: FIELDS.section },
  ];
  for (const s of elf.sections) {
    if (s.type === Elf.SHT_NULL || s.type === Elf.SHT_NOBITS || s.size === 0) continue;
    const region = (stride: number, fields: readonly Field[], copies = 1) => {
      for (let k = 0; k < copies; k++) regions.push({ offset: s.offset, size: s.size, stride, fields });
    };
    // Symbols, relocations, code and map definitions weigh more than BTF and strings.
    if (s.type === Elf.SHT_SYMTAB) region(24, FIELDS.symbol, 3);
    else if (s.type === Elf.SHT_REL) region(16, FIELDS.relocation, 2);
    else if ((s.flags & BigInt(Elf.SHF_EXECINSTR)) !== 0n) region(8, FIELDS.instruction, 2);
    else if (s.name === 'maps') region(s.size % 40 === 0 ? 40 : 20, FIELDS.mapDef, 2);
    else region(8, FIELDS.bytes);
  }
  return { name, bytes, littleEndian: elf.littleEndian, regions };
}

/** Values that sit on the edges parsers get wrong: zero, one, sign bits, all ones, struct sizes. */
const EDGES = [
  0, 1, 2, 3, 4, 7, 8, 12, 16, 20, 24, 32, 40, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
];

function writeInt(b: Uint8Array, at: number, width: number, value: bigint, le: boolean): void {
  for (let k = 0; k < width && at + k < b.length; k++) {
    const byte = Number((value >> BigInt(8 * k)) & 0xffn);
    b[le ? at + k : at + width - 1 - k] = byte;
  }
}

/**
 * One mutated copy of the seed: 1–3 of random bytes anywhere, random bytes
 * inside one region, an edge value written over a field of a record
 * (section header, symbol, relocation, instruction, map definition), a
 * record copied over another, or a truncation.
 */
export function mutate(seed: Seed, rand: Rng): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = seed.bytes.slice();
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    const kind = int(100);
    if (kind < 25) {
      for (let k = 0; k < 1 + int(6); k++) b[int(b.length)] = int(256);
    } else if (kind < 45) {
      const region = seed.regions[int(seed.regions.length)]!;
      for (let k = 0; k < 1 + int(3); k++) b[region.offset + int(region.size)] = int(256);
    } else if (kind < 85) {
      const region = seed.regions[int(seed.regions.length)]!;
      const [field, width] = region.fields[int(region.fields.length)]!;
      const records = Math.max(1, Math.floor(region.size / region.stride));
      const at = region.offset + int(records) * region.stride + (region.fields === FIELDS.bytes ? int(region.stride) : field);
      let value = BigInt(EDGES[int(EDGES.length)]!);
      if (int(4) === 0) value = -value;
      if (int(3) === 0) value += BigInt(int(17)) - 8n;
      if (int(8) === 0) value = BigInt(int(2 ** 32));
      writeInt(b, at, width, BigInt.asUintN(64, value), seed.littleEndian);
    } else if (kind < 97) {
      const region = seed.regions[int(seed.regions.length)]!;
      const records = Math.max(1, Math.floor(region.size / region.stride));
      const from = region.offset + int(records) * region.stride;
      const to = region.offset + int(records) * region.stride;
      b.copyWithin(to, from, Math.min(from + region.stride, region.offset + region.size));
    } else {
      b = b.slice(0, int(b.length));
    }
  }
  return b;
}

/** What an input came to: read (and its BTF and CO-RE relocations went through), or a typed refusal (a ParseError with what it was parsing). */
export type Outcome = 'ok' | `ParseError ${string}` | 'InvalidArgumentError';

/**
 * Reads `bytes` as the loader would: {@link readObject}, then the BTF it
 * would hand the kernel (patched, and rewritten) and the CO-RE relocations of every program against
 * `target`. Returns how it ended; anything but a typed error is thrown on.
 */
export function exercise(bytes: Uint8Array, target: Btf | undefined): Outcome {
  try {
    const spec = readObject(bytes);
    if (spec.btf) {
      // Both forms the loader may hand the kernel: the object's bytes patched, and the full rewrite.
      patchObjectBtfForKernel(spec.elf, spec.btf, spec.externs);
      encodeBtf(objectBtfForKernel(spec.elf, spec.btf, spec.externs), spec.littleEndian, { strings: spec.btf.strings });
    }
    for (const p of Object.values(spec.programs)) {
      if (spec.btf && target && p.coreRelocations.length) {
        resolveCoreRelocations({
          instructions: p.instructions,
          relocations: p.coreRelocations,
          localBtf: spec.btf,
          targetBtf: target,
          programName: p.name,
        });
      }
    }
    spec.withConstants({});
    return 'ok';
  } catch (err) {
    if (err instanceof ParseError) return `ParseError ${err.format}`;
    if (err instanceof InvalidArgumentError) return 'InvalidArgumentError';
    throw err;
  }
}
