import { InvalidArgumentError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { assemble } from '../asm/assemble.js';
import { disassemble } from '../asm/disasm.js';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import type { Btf } from '../btf/parse.js';
import { ParseError } from '../errors.js';
import { CoreReloKind as K } from './kinds.js';
import { POISON_HELPER_ID } from './patch.js';
import { resolveCoreRelocations } from './resolve.js';
import type { CoreCandidateCache, CoreRelocationInput } from './resolve.js';

/** Resolves `source` (bpfkit assembly) with relocations `[slot, typeId, access, kind]`, and disassembles the result. */
function run(
  local: Btf,
  targets: Btf | Btf[],
  source: string,
  relos: [number, number, string, number][],
  options: { littleEndian?: boolean; cache?: CoreCandidateCache } = {},
) {
  const littleEndian = options.littleEndian ?? true;
  const relocations: CoreRelocationInput[] = relos.map(([index, typeId, accessString, kind]) => ({ index, typeId, accessString, kind }));
  const result = resolveCoreRelocations({
    instructions: assemble(source, littleEndian),
    relocations,
    localBtf: local,
    targetBtf: targets,
    littleEndian,
    programName: 'prog',
    ...(options.cache ? { cache: options.cache } : {}),
  });
  return { ...result, text: disassemble(result.instructions, littleEndian) };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

const POISON = `(85) call unknown#${POISON_HELPER_ID}`;

describe('field relocations', () => {
  // Local: what the program was compiled against.
  const l = new BtfBuilder();
  const lInt = l.addInt('int', 4, true);
  const lU64 = l.addInt('unsigned long long', 8, false);
  const lS64 = l.addInt('long long', 8, true);
  const lTask = l.addStruct('task___mine', 24, [
    ['pid', lInt, 0],
    ['flags', lU64, 8],
    ['total', lS64, 16],
  ]);
  const lGone = l.addStruct('task___future', 4, [['gone', lInt, 0]]);
  const local = parseBtf(l.encode());
  // Target: the kernel, where task has more members before them.
  const t = new BtfBuilder();
  const tInt = t.addInt('int', 4, true);
  const tU32 = t.addInt('unsigned int', 4, false);
  const tU16 = t.addInt('unsigned short', 2, false);
  const tTask = t.addStruct('task', 64, [
    ['state', tInt, 0],
    ['flags', tU32, 12],
    ['pid', tInt, 40],
    ['total', tInt, 48],
    ['narrow', tU16, 56],
  ]);
  const target = parseBtf(t.encode());

  it('patch ALU immediates, load/store offsets and the flavour resolves by essential name', () => {
    const { text, report } = run(
      local,
      target,
      `
      mov %r1, 0
      add %r2, 0
      ldxw %r3, [%r4+0]
      stxw [%r4+0], %r3
      stw [%r4+0], 7
      mov32 %r0, 4
      exit`,
      [
        [0, lTask, '0:0', K.FIELD_BYTE_OFFSET],
        [1, lTask, '0:0', K.FIELD_BYTE_OFFSET],
        [2, lTask, '0:0', K.FIELD_BYTE_OFFSET],
        [3, lTask, '0:0', K.FIELD_BYTE_OFFSET],
        [4, lTask, '0:0', K.FIELD_BYTE_OFFSET],
        [5, lTask, '0:0', K.FIELD_BYTE_SIZE],
      ],
    );
    expect(text).toEqual([
      '0: (b7) r1 = 40',
      '1: (07) r2 += 40',
      '2: (61) r3 = *(u32 *)(r4 +40)',
      '3: (63) *(u32 *)(r4 +40) = r3',
      '4: (62) *(u32 *)(r4 +40) = 7',
      '5: (b4) w0 = 4',
      '6: (95) exit',
    ]);
    expect(report[0]).toMatchObject({
      index: 0,
      kind: K.FIELD_BYTE_OFFSET,
      kindName: 'byte_off',
      localTypeId: lTask,
      localType: 'struct task___mine',
      accessString: '0:0',
      localSpec: 'struct task___mine.pid (0:0 @ offset 0)',
      status: 'relocated',
      original: 0n,
      value: 40n,
      matches: 1,
      target: { targetIndex: 0, typeId: tTask, type: 'struct task', spec: 'struct task.pid (0:2 @ offset 40)' },
    });
  });

  it('changes load/store sizes between unsigned integers, and poisons signed ones', () => {
    const { text, report } = run(
      local,
      target,
      `
      ldxdw %r1, [%r2+8]
      stxdw [%r2+8], %r1
      ldxdw %r3, [%r2+16]
      exit`,
      [
        [0, lTask, '0:1', K.FIELD_BYTE_OFFSET],
        [1, lTask, '0:1', K.FIELD_BYTE_OFFSET],
        [2, lTask, '0:2', K.FIELD_BYTE_OFFSET],
      ],
    );
    expect(text).toEqual(['0: (61) r1 = *(u32 *)(r2 +12)', '1: (63) *(u32 *)(r2 +12) = r1', `2: ${POISON}`, '3: (95) exit']);
    expect(report[0]).toMatchObject({ status: 'relocated', memorySize: { from: 8, to: 4 } });
    expect(report[2]).toMatchObject({ status: 'poisoned', value: 0n, original: 16n });
    expect(report[2]!.reason).toMatch(/from 8 to 4 bytes, which is only safe for unsigned integers and pointers/);
    // A u16 field: the load becomes ldxh.
    const n = new BtfBuilder();
    n.addStruct('task', 8, [['flags', n.addInt('unsigned short', 2, false), 6]]);
    expect(run(local, parseBtf(n.encode()), 'ldxdw %r1, [%r2+8]', [[0, lTask, '0:1', K.FIELD_BYTE_OFFSET]]).text).toEqual([
      '0: (69) r1 = *(u16 *)(r2 +6)',
    ]);
  });

  it('checks that instructions hold the local value, and fit what is patched in', () => {
    expect(errorOf(() => run(local, target, 'mov %r1, 5', [[0, lTask, '0:1', K.FIELD_BYTE_OFFSET]])).message).toMatch(
      /program 'prog': CO-RE relocation #0 \(byte_off \[\d+\] '0:1' at instruction 0\): instruction 0 \(ALU immediate\) holds 5, but the local type gives 8/,
    );
    expect(errorOf(() => run(local, target, 'ldxw %r1, [%r2+8]', [[0, lTask, '0:1', K.FIELD_BYTE_OFFSET]])).message).toMatch(
      /accesses 4 bytes, but the local field is 8/,
    );
    expect(errorOf(() => run(local, target, 'add %r1, %r2', [[0, lTask, '0:0', K.FIELD_BYTE_OFFSET]])).message).toMatch(/register operand/);
    expect(errorOf(() => run(local, target, 'exit', [[0, lTask, '0:0', K.FIELD_BYTE_OFFSET]])).message).toMatch(
      /opcode 0x95\) is not one CO-RE can relocate/,
    );
    expect(errorOf(() => run(local, target, 'exit', [[3, lTask, '0:0', K.FIELD_BYTE_OFFSET]])).message).toMatch(
      /instruction 3 is outside the program's 1 instructions/,
    );
    const far = new BtfBuilder();
    far.addStruct('task', 40000, [['pid', far.addInt('int', 4, true), 39000]]);
    expect(
      errorOf(() => run(local, parseBtf(far.encode()), 'ldxw %r1, [%r2+0]', [[0, lTask, '0:0', K.FIELD_BYTE_OFFSET]])).message,
    ).toMatch(/offset 39000 does not fit/);
    // ALU immediates take any 32-bit value.
    expect(run(local, parseBtf(far.encode()), 'add %r2, 0', [[0, lTask, '0:0', K.FIELD_BYTE_OFFSET]]).text).toEqual([
      '0: (07) r2 += 39000',
    ]);
  });

  it('poisons what needs a missing field and answers 0 to the existence check', () => {
    const { text, report } = run(
      local,
      target,
      `
      mov %r1, 1
      add %r2, 0
      ldxw %r3, [%r2+0]
      mov %r4, 1
      exit`,
      [
        [0, lGone, '0:0', K.FIELD_EXISTS],
        [1, lGone, '0:0', K.FIELD_BYTE_OFFSET],
        [2, lGone, '0:0', K.FIELD_BYTE_OFFSET],
        [3, lTask, '0:0', K.FIELD_EXISTS],
      ],
    );
    expect(text).toEqual(['0: (b7) r1 = 0', `1: ${POISON}`, `2: ${POISON}`, '3: (b7) r4 = 1', '4: (95) exit']);
    expect(report.map((r) => r.status)).toEqual(['missing', 'poisoned', 'poisoned', 'relocated']);
    expect(report[1]!.reason).toBe(`struct task [${tTask}]: no member 'gone' in struct task`);
    // No type of that essential name at all.
    const other = new BtfBuilder();
    other.addInt('int', 4, true);
    const none = run(local, parseBtf(other.encode()), 'add %r2, 0', [[0, lTask, '0:0', K.FIELD_BYTE_OFFSET]]);
    expect(none.report[0]).toMatchObject({
      status: 'poisoned',
      reason: "no type named 'task' of a compatible kind in the target BTF",
      matches: 0,
    });
    expect(none.text).toEqual([`0: ${POISON}`]);
  });

  it('refuses incompatible member types, and matches compatible ones (any int, pointers, enums by name)', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const inner = b.addStruct('inner', 4, [['x', int, 0]]);
    const e = b.addEnum('mode', [['A', 0]]);
    const ptr = b.addPointer(int);
    const lS = b.addStruct('s', 16, [
      ['a', int, 0],
      ['b', inner, 4],
      ['c', e, 8],
      ['d', ptr, 8],
    ]);
    const loc = parseBtf(b.encode());
    const c = new BtfBuilder();
    const tLong = c.addInt('long', 8, true);
    const tOther = c.addStruct('other', 8, [['y', tLong, 0]]);
    const tE = c.addEnum('mode___v2', [['B', 1]]);
    const tF = c.addEnum('flags', [['F', 1]]);
    const vptr = c.addPointer(0);
    c.addStruct('s', 64, [
      ['a', tOther, 0],
      ['b', tOther, 8],
      ['c', tE, 16],
      ['d', vptr, 24],
    ]);
    const c2 = new BtfBuilder();
    c2.addStruct('s', 8, [['c', c2.addEnum('flags', [['F', 1]]), 4]]);
    const tgt = parseBtf(c.encode());
    const r = run(loc, tgt, 'mov %r1, 0\nmov %r1, 4\nmov %r1, 8\nmov %r1, 8', [
      [0, lS, '0:0', K.FIELD_BYTE_OFFSET],
      [1, lS, '0:1', K.FIELD_BYTE_OFFSET],
      [2, lS, '0:2', K.FIELD_BYTE_OFFSET],
      [3, lS, '0:3', K.FIELD_BYTE_OFFSET],
    ]);
    expect(r.report.map((x) => x.status)).toEqual(['poisoned', 'relocated', 'relocated', 'relocated']);
    expect(r.report[0]!.reason).toMatch(/incompatible type of member 'a' in struct s/);
    expect(r.report.slice(1).map((x) => x.value)).toEqual([8n, 16n, 24n]);
    expect(tF).toBeGreaterThan(0);
    // An enum of another name is not compatible.
    expect(run(loc, parseBtf(c2.encode()), 'mov %r1, 8', [[0, lS, '0:2', K.FIELD_BYTE_OFFSET]]).report[0]!.status).toBe('poisoned');
  });

  it('finds members through anonymous structs and unions', () => {
    const b = new BtfBuilder();
    const short = b.addInt('short', 2, true);
    const lS = b.addStruct('s', 2, [['c', short, 0]]);
    const loc = parseBtf(b.encode());
    const c = new BtfBuilder();
    const int = c.addInt('int', 4, true);
    const tShort = c.addInt('short', 2, true);
    const pair = c.addStruct('', 4, [
      ['b', tShort, 0],
      ['c', tShort, 2],
    ]);
    const u = c.addUnion('', 4, [
      ['a', int],
      ['', pair],
    ]);
    c.addStruct('s', 8, [
      ['x', int, 0],
      ['', u, 4],
    ]);
    const { report, text } = run(loc, parseBtf(c.encode()), 'ldxh %r1, [%r2+0]', [[0, lS, '0:0', K.FIELD_BYTE_OFFSET]]);
    expect(text).toEqual(['0: (69) r1 = *(u16 *)(r2 +6)']);
    expect(report[0]!.target!.spec).toBe('struct s.c (0:1:1:1 @ offset 6)');
  });

  it('relocates array element accesses, within bounds or in a flexible array', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const lS = b.addStruct('s', 20, [
      ['n', int, 0],
      ['arr', b.addArray(int, int, 4), 4],
    ]);
    const loc = parseBtf(b.encode());
    const target = (elements: number, pad: number) => {
      const c = new BtfBuilder();
      const tInt = c.addInt('int', 4, true);
      const long = c.addInt('long', 8, true);
      c.addStruct('s', pad + 4 + elements * 4, [
        ['pad', long, 0],
        ['n', tInt, pad],
        ['arr', c.addArray(tInt, tInt, elements), pad + 4],
      ]);
      return parseBtf(c.encode());
    };
    // '0:1:2': arr[2]; '3': the fourth struct s of an array of them; byte size of the whole array.
    const src = 'ldxw %r1, [%r2+12]\nadd %r2, 60\nmov %r3, 16\nmov %r4, 4';
    const relos: [number, number, string, number][] = [
      [0, lS, '0:1:2', K.FIELD_BYTE_OFFSET],
      [1, lS, '3', K.FIELD_BYTE_OFFSET],
      [2, lS, '0:1', K.FIELD_BYTE_SIZE],
      [3, lS, '0:1:2', K.FIELD_BYTE_SIZE],
    ];
    const ok = run(loc, target(8, 8), src, relos);
    expect(ok.text).toEqual(['0: (61) r1 = *(u32 *)(r2 +20)', `1: (07) r2 += ${3 * 44}`, '2: (b7) r3 = 32', '3: (b7) r4 = 4']);
    expect(ok.report[0]!.target!.spec).toBe('struct s.arr[2] (0:2:2 @ offset 20)');
    // Two elements are too few for arr[2]…
    const short = run(loc, target(2, 8), src, relos);
    expect(short.report.map((r) => r.status)).toEqual(['poisoned', 'relocated', 'relocated', 'poisoned']);
    expect(short.report[0]!.reason).toMatch(/index 2 is outside the 2 elements/);
    // …but a flexible array (no elements, last member) takes any index.
    const flex = run(loc, target(0, 8), src, relos);
    expect(flex.report[0]).toMatchObject({ status: 'relocated', value: 20n });
    // Locally, an index past the array is malformed.
    expect(errorOf(() => run(loc, target(8, 8), src, [[0, lS, '0:1:9', K.FIELD_BYTE_OFFSET]])).message).toMatch(
      /index 9 is outside the 4 elements/,
    );
  });

  it('refuses ambiguity: candidates of the same essential name must agree', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const lS = b.addStruct('sk___local', 4, [['a', int, 0]]);
    const loc = parseBtf(b.encode());
    const two = (second: (c: BtfBuilder, int: number) => void) => {
      const c = new BtfBuilder();
      const tInt = c.addInt('int', 4, true);
      c.addStruct('sk', 8, [
        ['x', tInt, 0],
        ['a', tInt, 4],
      ]);
      second(c, tInt);
      return parseBtf(c.encode());
    };
    const agree = run(
      loc,
      two((c, i) =>
        c.addStruct('sk___2', 8, [
          ['y', i, 0],
          ['a', i, 4],
        ]),
      ),
      'mov %r1, 0',
      [[0, lS, '0:0', K.FIELD_BYTE_OFFSET]],
    );
    expect(agree.report[0]).toMatchObject({ status: 'relocated', value: 4n, matches: 2 });
    // A candidate without the field does not count.
    const partial = run(
      loc,
      two((c, i) => c.addStruct('sk___old', 4, [['b', i, 0]])),
      'mov %r1, 0',
      [[0, lS, '0:0', K.FIELD_BYTE_OFFSET]],
    );
    expect(partial.report[0]).toMatchObject({ status: 'relocated', value: 4n, matches: 1 });
    const offsets = errorOf(() =>
      run(
        loc,
        two((c, i) => c.addStruct('sk___2', 4, [['a', i, 0]])),
        'mov %r1, 0',
        [[0, lS, '0:0', K.FIELD_BYTE_OFFSET]],
      ),
    );
    expect(offsets).toBeInstanceOf(ParseError);
    expect(offsets.message).toMatch(/ambiguous: candidates put the field at different offsets/);
    const sizes = errorOf(() =>
      run(
        loc,
        two((c) => {
          const long = c.addInt('long', 8, true);
          c.addStruct('sk___2', 16, [
            ['z', long, 0],
            ['a', long, 4],
          ]);
        }),
        'mov %r1, 4',
        [[0, lS, '0:0', K.FIELD_BYTE_SIZE]],
      ),
    );
    expect(sizes.message).toMatch(/ambiguous: candidates disagree \(4 for struct sk\.a .* 8 for struct sk___2\.a/);
  });

  it("drops candidates that failed a relocation for the type's later relocations, as libbpf does", () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const lS = b.addStruct('sk', 8, [
      ['a', int, 0],
      ['b', int, 4],
    ]);
    const loc = parseBtf(b.encode());
    const c = new BtfBuilder();
    const tInt = c.addInt('int', 4, true);
    c.addStruct('sk', 4, [['a', tInt, 0]]);
    c.addStruct('sk___2', 8, [
      ['x', tInt, 0],
      ['b', tInt, 4],
    ]);
    const tgt = parseBtf(c.encode());
    const relos: [number, number, string, number][] = [
      [0, lS, '0:0', K.FIELD_EXISTS],
      [1, lS, '0:1', K.FIELD_EXISTS],
    ];
    const cache: CoreCandidateCache = new Map();
    expect(run(loc, tgt, 'mov %r1, 1\nmov %r2, 1', relos, { cache }).text).toEqual(['0: (b7) r1 = 1', '1: (b7) r2 = 0']);
    expect(cache.get(lS)!.map((x) => x.typeId)).toEqual([2]);
    // In the other order, sk___2 is kept and sk dropped.
    expect(
      run(loc, tgt, 'mov %r1, 1\nmov %r2, 1', [
        [1, lS, '0:1', K.FIELD_EXISTS],
        [0, lS, '0:0', K.FIELD_EXISTS],
      ]).text,
    ).toEqual(['0: (b7) r1 = 0', '1: (b7) r2 = 1']);
  });
});

describe('bitfields', () => {
  interface Field {
    bitOffset: number;
    bits: number;
    size: number;
    signed: boolean;
  }
  // Fields of the target struct (bit offsets as BTF counts them), including ones that straddle their storage unit.
  const fields: Field[] = [
    { bitOffset: 0, bits: 1, size: 4, signed: false },
    { bitOffset: 5, bits: 3, size: 1, signed: false },
    { bitOffset: 14, bits: 5, size: 2, signed: false }, // needs a 4-byte load
    { bitOffset: 30, bits: 6, size: 4, signed: true }, // needs an 8-byte load
    { bitOffset: 77, bits: 11, size: 8, signed: true },
    { bitOffset: 100, bits: 28, size: 8, signed: false },
  ];
  const c = new BtfBuilder();
  const intOf = (cb: BtfBuilder, size: number, signed: boolean) => cb.addInt(`${signed ? '' : 'u'}int${size * 8}`, size, signed);
  c.addComposite(
    'struct',
    'bits',
    16,
    fields.map((f, i) => ({ name: `f${i}`, type: intOf(c, f.size, f.signed), bitOffset: f.bitOffset, bitfieldSize: f.bits })),
  );
  const target = parseBtf(c.encode());
  // Locally every field is an unsigned 1-bit field at offset 0 of its own struct: only the target decides.
  const l = new BtfBuilder();
  const lU = l.addInt('unsigned int', 4, false);
  const lI = l.addInt('int', 4, true);
  const local = fields.map((f, i) =>
    l.addComposite('struct', `bits___${i}`, 4, [{ name: `f${i}`, type: f.signed ? lI : lU, bitOffset: 0, bitfieldSize: 1 }]),
  );
  const localBtf = parseBtf(l.encode());

  /** Writes `value` into the field's bits of `mem` as a compiler of that byte order lays bitfields out. */
  function store(mem: Uint8Array, f: Field, value: bigint, littleEndian: boolean) {
    for (let i = 0; i < f.bits; i++) {
      const bit = f.bitOffset + i;
      // Little-endian counts bits from the least significant end of each byte; big-endian from the most.
      const valueBit = littleEndian ? i : f.bits - 1 - i;
      const mask = 1 << (littleEndian ? bit % 8 : 7 - (bit % 8));
      const byte = Math.floor(bit / 8);
      if ((value >> BigInt(valueBit)) & 1n) mem[byte]! |= mask;
      else mem[byte]! &= ~mask;
    }
  }

  for (const littleEndian of [true, false]) {
    it(`extracts every field with the relocated offset, size and shifts (${littleEndian ? 'little' : 'big'}-endian)`, () => {
      let seed = 3;
      const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      fields.forEach((f, i) => {
        // Local values: offset/size/lshift are not checked for bitfields; signed and rshift are.
        const { report } = run(
          localBtf,
          target,
          `mov %r1, 0\nmov %r1, 4\nmov %r1, 0\nmov %r1, 63\nmov %r1, ${f.signed ? 1 : 0}`,
          [
            [0, local[i]!, '0:0', K.FIELD_BYTE_OFFSET],
            [1, local[i]!, '0:0', K.FIELD_BYTE_SIZE],
            [2, local[i]!, '0:0', K.FIELD_LSHIFT_U64],
            [3, local[i]!, '0:0', K.FIELD_RSHIFT_U64],
            [4, local[i]!, '0:0', K.FIELD_SIGNED],
          ],
          { littleEndian },
        );
        const [byteOff, byteSize, lshift, rshift, signed] = report.map((r) => r.value);
        expect(signed).toBe(f.signed ? 1n : 0n);
        expect([1n, 2n, 4n, 8n]).toContain(byteSize);
        expect(Number(byteOff) % Number(byteSize)).toBe(0);
        for (let round = 0; round < 20; round++) {
          const mem = new Uint8Array(16).map(() => Math.floor(rand() * 256));
          let value = 0n;
          for (let b = 0; b < f.bits; b++) if (rand() < 0.5) value |= 1n << BigInt(b);
          store(mem, f, value, littleEndian);
          // What BPF_CORE_READ_BITFIELD does: load byte_size bytes at byte_offset, shift left, shift right.
          let v = 0n;
          for (let k = 0; k < Number(byteSize); k++) {
            const byte = BigInt(mem[Number(byteOff) + k]!);
            v |= littleEndian ? byte << BigInt(8 * k) : byte << BigInt(8 * (Number(byteSize) - 1 - k));
          }
          v = BigInt.asUintN(64, v << lshift!);
          v = signed ? BigInt.asUintN(64, BigInt.asIntN(64, v) >> rshift!) : v >> rshift!;
          const expected = f.signed ? BigInt.asUintN(64, BigInt.asIntN(f.bits, value)) : value;
          expect(v, `field ${i} value ${value}`).toBe(expected);
        }
      });
    });
  }

  it('refuses a bitfield no 64-bit load can hold', () => {
    const b = new BtfBuilder();
    b.addComposite('struct', 'bits', 16, [{ name: 'f0', type: b.addInt('unsigned int', 4, false), bitOffset: 62, bitfieldSize: 4 }]);
    const err = errorOf(() => run(localBtf, parseBtf(b.encode()), 'mov %r1, 0', [[0, local[0]!, '0:0', K.FIELD_BYTE_OFFSET]]));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.message).toMatch(/bitfield 'f0' of struct bits cannot be read with one 64-bit load/);
  });
});

describe('type relocations', () => {
  const l = new BtfBuilder();
  const lInt = l.addInt('int', 4, true);
  const lPid = l.addTypedef('pid_t', lInt);
  const lTask = l.addStruct('task', 8, [
    ['pid', lPid, 0],
    ['tgid', lInt, 4],
  ]);
  const lTaskP = l.addPointer(lTask);
  const lHandle = l.addTypedef('handle_t', lInt);
  const lMissing = l.addStruct('nowhere', 4, [['x', lInt, 0]]);
  const lAnon = l.addStruct('', 4, [['x', lInt, 0]]);
  const lFn = l.addTypedef('cb_t', l.addPointer(l.addFuncProto(lInt, [['t', lTaskP]])));
  const local = parseBtf(l.encode());
  const t = new BtfBuilder();
  const tInt = t.addInt('int', 4, true);
  const tPid = t.addTypedef('pid_t', t.addTypedef('__kernel_pid_t', tInt));
  const tTask = t.addStruct('task', 128, [
    ['state', tInt, 0],
    ['pid', tPid, 8],
    ['tgid', tPid, 12],
  ]);
  const tHandle = t.addTypedef('handle_t', t.addStruct('handle', 16, []));
  const tFn = t.addTypedef('cb_t', t.addPointer(t.addFuncProto(tInt, [['t', t.addPointer(tTask)]])));
  const target = parseBtf(t.encode());

  it('answers exists, size, target and local ids, through typedefs', () => {
    const { text, report } = run(
      local,
      target,
      `
      lddw %r1, 0
      lddw %r2, 0
      mov %r3, 1
      mov %r3, 1
      mov %r3, 8
      mov %r3, 4
      mov %r3, 4
      mov %r3, 1
      lddw %r4, 99`,
      [
        [0, lTask, '0', K.TYPE_ID_TARGET],
        [2, lPid, '0', K.TYPE_ID_TARGET],
        [4, lTask, '0', K.TYPE_EXISTS],
        [5, lMissing, '0', K.TYPE_EXISTS],
        [6, lTask, '0', K.TYPE_SIZE],
        [7, lPid, '0', K.TYPE_SIZE],
        [8, lHandle, '0', K.TYPE_SIZE],
        [9, lFn, '0', K.TYPE_EXISTS],
        [10, lAnon, '0', K.TYPE_ID_LOCAL],
      ],
    );
    expect(text).toEqual([
      `0: (18) r1 = 0x${tTask.toString(16)} ll`,
      `2: (18) r2 = 0x${tPid.toString(16)} ll`,
      '4: (b7) r3 = 1',
      '5: (b7) r3 = 0',
      '6: (b7) r3 = 128',
      '7: (b7) r3 = 4',
      '8: (b7) r3 = 0', // handle_t is an int locally, a struct in the target: no compatible candidate
      '9: (b7) r3 = 1',
      `10: (18) r4 = 0x${lAnon.toString(16)} ll`,
    ]);
    expect(report.map((r) => r.status)).toEqual([
      'relocated',
      'relocated',
      'relocated',
      'missing',
      'relocated',
      'relocated',
      'missing',
      'relocated',
      'relocated',
    ]);
    expect(report[6]!.reason).toBe(`typedef handle_t [${tHandle}]: typedef handle_t does not have a compatible shape`);
    expect(tFn).toBeGreaterThan(0);
  });

  it('applies the TYPE_MATCHES rules', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true);
    const uint = b.addInt('unsigned int', 4, false);
    const long = b.addInt('long', 8, true);
    const dbl = b.addFloat('double', 8);
    const fwd = b.addFwd('peer');
    const e = b.addEnum('mode', [
      ['A', 0],
      ['B', 1],
    ]);
    const cases: [string, number][] = [
      [
        'm_same',
        b.addStruct('m___same', 8, [
          ['pid', int, 0],
          ['tgid', int, 4],
        ]),
      ],
      ['m_subset', b.addStruct('m___subset', 4, [['tgid', int, 0]])],
      ['m_unsigned', b.addStruct('m___unsigned', 4, [['pid', uint, 0]])],
      ['m_wider', b.addStruct('m___wider', 8, [['pid', long, 0]])],
      [
        'm_extra',
        b.addStruct('m___extra', 8, [
          ['pid', int, 0],
          ['nope', int, 4],
        ]),
      ],
      ['m_array', b.addStruct('m___array', 16, [['comm', b.addArray(b.addInt('char', 1, true), int, 16), 0]])],
      ['m_array_len', b.addStruct('m___array_len', 8, [['comm', b.addArray(b.addInt('char', 1, true), int, 8), 0]])],
      ['m_peer_fwd', b.addStruct('m___peer_fwd', 8, [['peer', b.addPointer(fwd), 0]])],
      ['m_enum', b.addStruct('m___enum', 4, [['mode', e, 0]])],
      ['m_float', b.addStruct('m___float', 8, [['ratio', dbl, 0]])],
      ['m_union', b.addUnion('m___union', 4, [['pid', int]])],
    ];
    const loc = parseBtf(b.encode());
    const c = new BtfBuilder();
    const tI = c.addInt('int', 4, true);
    const tPeer = c.addStruct('peer', 4, [['x', tI, 0]]);
    const tChar = c.addInt('char', 1, true);
    const tE = c.addEnumSized(
      'mode',
      4,
      [
        ['C', 2],
        ['B', 5],
        ['A', 7],
      ],
      false,
    );
    c.addStruct('m', 64, [
      ['pid', tI, 0],
      ['tgid', tI, 4],
      ['comm', c.addArray(tChar, tI, 16), 8],
      ['peer', c.addPointer(tPeer), 24],
      ['mode', tE, 32],
      ['ratio', c.addFloat('double', 8), 40],
    ]);
    const tgt = parseBtf(c.encode());
    const { report } = run(
      loc,
      tgt,
      cases.map(() => 'mov %r1, 1').join('\n'),
      cases.map(([, id], i) => [i, id, '0', K.TYPE_MATCHES]),
    );
    expect(Object.fromEntries(cases.map(([name], i) => [name, report[i]!.value]))).toEqual({
      m_same: 1n,
      m_subset: 1n,
      m_unsigned: 0n,
      m_wider: 0n,
      m_extra: 0n,
      m_array: 1n,
      m_array_len: 0n,
      m_peer_fwd: 1n,
      m_enum: 1n,
      m_float: 0n,
      m_union: 0n,
    });
  });

  it('refuses relocations against anonymous types and malformed access strings', () => {
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lAnon, '0', K.TYPE_EXISTS]])).message).toMatch(/anonymous types/);
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lTask, '1', K.TYPE_EXISTS]])).message).toMatch(
      /type relocation has access string '1', expected '0'/,
    );
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lTask, '0:x', K.FIELD_EXISTS]])).message).toMatch(/not a list of indices/);
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lTask, '0:7', K.FIELD_EXISTS]])).message).toMatch(
      /member 7 of struct task does not exist/,
    );
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lTask, '0:0:1', K.FIELD_EXISTS]])).message).toMatch(/steps into int int/);
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, 999, '0', K.TYPE_EXISTS]])).message).toMatch(/type id 999 does not exist/);
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lTask, '0', 13]])).message).toMatch(/unknown relocation kind 13/);
  });
});

describe('enum relocations', () => {
  const l = new BtfBuilder();
  const lE = l.addEnumSized(
    'state___local',
    4,
    [
      ['RUNNING___local', 0],
      ['GONE___local', 1],
      ['NEG', -1],
    ],
    true,
  );
  const lBig = l.addEnum64('big', [['HUGE', 1n << 40n]]);
  const local = parseBtf(l.encode());
  const t = new BtfBuilder();
  t.addEnum64(
    'state',
    [
      ['RUNNING', 1n << 33n],
      ['NEG', -5n],
    ],
    true,
  );
  t.addEnum64('big', [['HUGE', 1n << 41n]]);
  const target = parseBtf(t.encode());

  it('finds enumerators by essential name, across enum and enum64, with 64-bit values', () => {
    const { text, report } = run(
      local,
      target,
      `
      lddw %r1, 0
      lddw %r2, 1
      lddw %r3, 0xffffffffffffffff
      lddw %r4, 0x10000000000
      mov %r5, 1
      mov %r5, 1
      mov32 %r6, -1`,
      [
        [0, lE, '0', K.ENUMVAL_VALUE],
        [2, lE, '1', K.ENUMVAL_VALUE],
        [4, lE, '2', K.ENUMVAL_VALUE],
        [6, lBig, '0', K.ENUMVAL_VALUE],
        [8, lE, '0', K.ENUMVAL_EXISTS],
        [9, lE, '1', K.ENUMVAL_EXISTS],
        [10, lE, '2', K.ENUMVAL_VALUE],
      ],
    );
    expect(text).toEqual([
      '0: (18) r1 = 0x200000000 ll',
      `2: ${POISON}`,
      `3: ${POISON}`, // both halves of the lddw
      '4: (18) r3 = 0xfffffffffffffffb ll',
      '6: (18) r4 = 0x20000000000 ll',
      '8: (b7) r5 = 1',
      '9: (b7) r5 = 0',
      '10: (b4) w6 = -5',
    ]);
    expect(report[0]).toMatchObject({ localSpec: 'enum state___local::RUNNING___local = 0', status: 'relocated', value: 1n << 33n });
    expect(report[0]!.target!.spec).toBe('enum64 state::RUNNING = 8589934592');
    expect(report[1]).toMatchObject({ status: 'poisoned', reason: expect.stringMatching(/no enumerator GONE in enum64 state/) });
    expect(report[2]!.value).toBe(BigInt.asUintN(64, -5n));
  });

  it('checks the local value clang compiled in (32-bit values sign-extended)', () => {
    expect(errorOf(() => run(local, target, 'lddw %r3, 0xffffffff', [[0, lE, '2', K.ENUMVAL_VALUE]])).message).toMatch(
      /holds 4294967295, but the local type gives 18446744073709551615/,
    );
    expect(errorOf(() => run(local, target, 'mov %r1, 1', [[0, lE, '5', K.ENUMVAL_VALUE]])).message).toMatch(
      /enumerator 5 of enum state___local does not exist/,
    );
    expect(errorOf(() => run(local, target, 'lddw %r1, map_fd 3', [[0, lBig, '0', K.ENUMVAL_EXISTS]])).message).toMatch(
      /not an lddw of a plain 64-bit immediate/,
    );
  });
});

describe('split module BTF targets', () => {
  const vb = new BtfBuilder();
  const vInt = vb.addInt('int', 4, true);
  vb.addStruct('task', 16, [['pid', vInt, 8]]);
  const vmlinux = parseBtf(vb.encode());
  const mb = BtfBuilder.splitOf(vmlinux);
  const conn = mb.addStruct('nf_conn', 32, [['status', vInt, 20]]);
  mb.addStruct('task', 4, [['pid', vInt, 0]]); // a module type of a vmlinux name: never a candidate
  const mod = parseBtf(mb.encode(), vmlinux);
  const l = new BtfBuilder();
  const lInt = l.addInt('int', 4, true);
  const lConn = l.addStruct('nf_conn', 4, [['status', lInt, 0]]);
  const lTask = l.addStruct('task', 4, [['pid', lInt, 0]]);
  const local = parseBtf(l.encode());

  it("searches modules only for types vmlinux lacks, and gives the module's ids", () => {
    const { text, report } = run(local, [vmlinux, mod], 'add %r1, 0\nlddw %r2, 0\nadd %r3, 0', [
      [0, lConn, '0:0', K.FIELD_BYTE_OFFSET],
      [1, lConn, '0', K.TYPE_ID_TARGET],
      [3, lTask, '0:0', K.FIELD_BYTE_OFFSET],
    ]);
    expect(text).toEqual(['0: (07) r1 += 20', `1: (18) r2 = 0x${conn.toString(16)} ll`, '3: (07) r3 += 8']);
    expect(conn).toBeGreaterThanOrEqual(mod.firstTypeId);
    expect(report.map((r) => [r.target!.targetIndex, r.matches])).toEqual([
      [1, 1],
      [1, 1],
      [0, 1],
    ]);
    // Without the module, nf_conn is missing.
    expect(run(local, vmlinux, 'add %r1, 0', [[0, lConn, '0:0', K.FIELD_BYTE_OFFSET]]).report[0]!.status).toBe('poisoned');
  });
});

describe('resolveCoreRelocations arguments', () => {
  const b = new BtfBuilder();
  b.addStruct('s', 4, [['a', b.addInt('int', 4, true), 0]]);
  const btf = parseBtf(b.encode());
  it('refuses what is not a program, a relocation list or a BTF with InvalidArgumentError', () => {
    const call = (o: Record<string, unknown>) => () =>
      resolveCoreRelocations({ instructions: new Uint8Array(8), relocations: [], localBtf: btf, targetBtf: btf, ...o } as never);
    expect(call({ instructions: new Uint8Array(7) })).toThrow(InvalidArgumentError);
    expect(call({ instructions: [1, 2] })).toThrow(/instructions: expected a Uint8Array of whole 8-byte instructions/);
    expect(call({ relocations: 'x' })).toThrow(InvalidArgumentError);
    expect(call({ relocations: [{ index: 0 }] })).toThrow(/relocations\[0\]/);
    expect(call({ localBtf: {} })).toThrow(/localBtf/);
    expect(call({ targetBtf: [btf, 3] })).toThrow(/targetBtf\[1\]/);
    expect(() => resolveCoreRelocations(null as never)).toThrow(InvalidArgumentError);
  });

  it('leaves the given instructions untouched', () => {
    const insns = assemble('mov %r1, 0');
    const copy = insns.slice();
    const other = new BtfBuilder();
    other.addStruct('s', 8, [['a', other.addInt('int', 4, true), 4]]);
    const r = resolveCoreRelocations({
      instructions: insns,
      relocations: [{ index: 0, typeId: 2, accessString: '0:0', kind: K.FIELD_BYTE_OFFSET }],
      localBtf: btf,
      targetBtf: parseBtf(other.encode()),
    });
    expect(insns).toEqual(copy);
    expect(disassemble(r.instructions)).toEqual(['0: (b7) r1 = 4']);
  });
});
