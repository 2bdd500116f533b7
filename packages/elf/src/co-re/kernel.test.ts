import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeInstructions } from '../asm/instruction.js';
import { BtfKind } from '../btf/kinds.js';
import { parseBtf } from '../btf/parse.js';
import type { Btf, BtfType } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import { programsFromElf } from '../programs/extract.js';
import type { ElfProgramSpec } from '../programs/extract.js';
import { CoreReloKind } from './kinds.js';
import { POISON_HELPER_ID } from './patch.js';
import { resolveCoreRelocations } from './resolve.js';
import type { CoreCandidateCache, CoreRelocationReport } from './resolve.js';

// testdata/core.bpf.c resolved against the running kernel's BTF; every
// expected value is read from that BTF here, directly.
const VMLINUX = '/sys/kernel/btf/vmlinux';
const haveVmlinux = fs.existsSync(VMLINUX);
const testdata = path.resolve(import.meta.dirname, '..', '..', 'testdata');

function load(file: string) {
  const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(testdata, file))));
  const btf = parseBtf(elf.data(elf.section('.BTF')!));
  return { elf, btf, programs: programsFromElf(elf, btf) };
}

/** A top-level member of a kernel struct, by name. */
function member(t: BtfType, name: string) {
  const m = t.members!.find((x) => x.name === name);
  if (!m) throw new Error(`${t.name} has no top-level member ${name}`);
  return m;
}

/** The instruction at each slot (lddw's second slot maps to nothing). */
function bySlot(bytes: Uint8Array, littleEndian: boolean) {
  const out = new Map<number, ReturnType<typeof decodeInstructions>[number]>();
  let slot = 0;
  for (const insn of decodeInstructions(bytes, littleEndian)) {
    out.set(slot, insn);
    slot += insn.opcode === 0x18 ? 2 : 1;
  }
  return out;
}

describe.skipIf(!haveVmlinux)(`CO-RE against the running kernel${haveVmlinux ? '' : ' (skipped: no /sys/kernel/btf/vmlinux)'}`, () => {
  const vmlinux: Btf = haveVmlinux ? parseBtf(fs.readFileSync(VMLINUX)) : (undefined as never);
  const task = haveVmlinux ? vmlinux.find('task_struct', BtfKind.STRUCT)! : (undefined as never);

  function resolve(p: ElfProgramSpec, btf: Btf, littleEndian: boolean, cache?: CoreCandidateCache) {
    const r = resolveCoreRelocations({
      instructions: p.instructions,
      relocations: p.coreRelocations,
      localBtf: btf,
      targetBtf: [vmlinux],
      littleEndian,
      programName: p.name,
      ...(cache ? { cache } : {}),
    });
    const at = (kind: number, spec: string): CoreRelocationReport[] =>
      r.report.filter((x) => x.kind === kind && x.localSpec.startsWith(spec));
    return { ...r, insns: bySlot(r.instructions, littleEndian), at };
  }

  for (const [file, le] of [
    ['core.bpf.o', true],
    ['core.bpf.eb.o', false],
  ] as const) {
    it(`relocates field offsets, sizes, existence and the subprogram's reads (${file})`, () => {
      const { btf, programs } = load(file);
      const { report, insns, at } = resolve(programs.core_fields!, btf, le);
      expect(report).toHaveLength(programs.core_fields!.coreRelocations.length);
      const pid = member(task, 'pid').bitOffset / 8;
      const tgid = member(task, 'tgid').bitOffset / 8;
      const parent = member(task, 'real_parent').bitOffset / 8;
      const comm = member(task, 'comm');
      const commArray = vmlinux.types[comm.type]!;
      expect(commArray.kind).toBe(BtfKind.ARRAY);

      const one = (kind: number, spec: string) => {
        const list = at(kind, spec);
        expect(list.length, `${kind} ${spec}`).toBeGreaterThan(0);
        return list;
      };
      for (const r of one(CoreReloKind.FIELD_BYTE_OFFSET, 'struct task_struct.pid ')) {
        expect(r).toMatchObject({ status: 'relocated', original: 0n, value: BigInt(pid), target: { typeId: task.id, targetIndex: 0 } });
        expect(insns.get(r.index)!.imm).toBe(pid);
      }
      for (const r of one(CoreReloKind.FIELD_BYTE_OFFSET, 'struct task_struct.tgid ')) expect(insns.get(r.index)!.imm).toBe(tgid);
      // Both reads of the subprogram (appended at the end) are relocated too.
      const sub = report.filter((r) => r.index >= programs.core_fields!.funcInfo[1]!.insnOff);
      expect(sub.map((r) => [r.localSpec.split(' (')[0], r.value])).toEqual([
        ['struct task_struct.real_parent', BigInt(parent)],
        ['struct task_struct.tgid', BigInt(tgid)],
      ]);
      for (const r of one(CoreReloKind.FIELD_BYTE_SIZE, 'struct task_struct.comm ')) {
        expect(r.value).toBe(BigInt(commArray.array!.elements * vmlinux.types[commArray.array!.type]!.sizeOrType));
      }
      for (const r of one(CoreReloKind.FIELD_BYTE_OFFSET, 'struct task_struct.comm[0]'))
        expect(insns.get(r.index)!.imm).toBe(comm.bitOffset / 8);
      for (const r of one(CoreReloKind.FIELD_EXISTS, 'struct task_struct.pid ')) expect(insns.get(r.index)!.imm).toBe(1);

      // The flavoured struct's field does not exist: the check says 0, the guarded read is poisoned.
      const [exists] = one(CoreReloKind.FIELD_EXISTS, 'struct task_struct___future.bpfkit_future_field');
      expect(exists).toMatchObject({ status: 'missing', original: 1n, value: 0n });
      expect(exists!.reason).toMatch(/no member 'bpfkit_future_field' in struct task_struct/);
      expect(insns.get(exists!.index)!.imm).toBe(0);
      const [read] = one(CoreReloKind.FIELD_BYTE_OFFSET, 'struct task_struct___future.bpfkit_future_field');
      expect(read!.status).toBe('poisoned');
      expect(insns.get(read!.index)).toMatchObject({ opcode: 0x85, src: 0, dst: 0, offset: 0, imm: POISON_HELPER_ID });
      expect(report.filter((r) => r.status === 'poisoned')).toEqual([read]);
    });

    it(`relocates the bitfield kinds of task_struct.in_execve (${file})`, () => {
      const { btf, programs } = load(file);
      const { at } = resolve(programs.core_fields!, btf, le);
      const m = member(task, 'in_execve');
      const storage = vmlinux.types[m.type]!; // unsigned int
      expect(m.bitfieldSize).toBe(1);
      expect(storage.sizeOrType).toBe(4);
      // The bit is in the aligned 4-byte word that holds it (it does not straddle words).
      const byteOff = Math.floor(m.bitOffset / 32) * 4;
      const value = (kind: number) => {
        const values = new Set(at(kind, 'struct task_struct.in_execve').map((r) => r.value));
        expect(values.size).toBe(1);
        return [...values][0];
      };
      expect(value(CoreReloKind.FIELD_BYTE_OFFSET)).toBe(BigInt(byteOff));
      expect(value(CoreReloKind.FIELD_BYTE_SIZE)).toBe(4n);
      expect(value(CoreReloKind.FIELD_SIGNED)).toBe(0n);
      expect(value(CoreReloKind.FIELD_RSHIFT_U64)).toBe(63n);
      // Shifting the loaded word left then right by 63 must leave exactly the field's bit.
      const bitInWord = m.bitOffset - byteOff * 8;
      const lshift = value(CoreReloKind.FIELD_LSHIFT_U64)!;
      if (le) expect(lshift).toBe(BigInt(63 - bitInWord));
      else expect(lshift).toBe(BigInt(32 + bitInWord)); // the word is loaded big-endian into the low 32 bits
    });

    it(`relocates type and enum kinds (${file})`, () => {
      const { btf, programs } = load(file);
      const { report, insns } = resolve(programs.core_types!, btf, le);
      const byKind = (kind: number) => report.filter((r) => r.kind === kind);
      const imm = (r: CoreRelocationReport) => insns.get(r.index)!.imm64 ?? BigInt(insns.get(r.index)!.imm);
      const values = report.map((r) => [r.kindName, r.localSpec, r.status, r.value]);
      const mapTypes = vmlinux.find('bpf_map_type', BtfKind.ENUM)!.enumerators!;
      const funcIds = vmlinux.find('bpf_func_id', BtfKind.ENUM)!.enumerators!;
      expect(values).toEqual([
        ['target_type_id', 'struct task_struct', 'relocated', BigInt(task.id)],
        ['local_type_id', 'struct task_struct', 'relocated', BigInt(btf.find('task_struct', BtfKind.STRUCT)!.id)],
        ['enumval_exists', 'enum bpf_map_type___bpfkit::BPF_MAP_TYPE_USER_RINGBUF___bpfkit = 1', 'relocated', 1n],
        ['enumval_exists', 'enum bpf_map_type___bpfkit::BPF_MAP_TYPE_BPFKIT_NONE___bpfkit = 2', 'missing', 0n],
        ['type_exists', 'struct task_struct', 'relocated', 1n],
        ['type_exists', 'struct bpfkit_missing', 'missing', 0n],
        ['type_size', 'struct task_struct', 'relocated', BigInt(task.sizeOrType)],
        ['type_matches', 'struct task_struct___match', 'relocated', 1n],
        ['type_matches', 'struct task_struct___nomatch', 'missing', 0n],
        [
          'enumval_value',
          'enum bpf_map_type___bpfkit::BPF_MAP_TYPE_BLOOM_FILTER___bpfkit = 1000',
          'relocated',
          mapTypes.find((e) => e.name === 'BPF_MAP_TYPE_BLOOM_FILTER')!.value,
        ],
        [
          'enumval_value',
          'enum bpf_func_id::BPF_FUNC_get_current_task_btf = 158',
          'relocated',
          funcIds.find((e) => e.name === 'BPF_FUNC_get_current_task_btf')!.value,
        ],
      ]);
      // The instructions hold what the report says.
      for (const r of report) expect(imm(r)).toBe(r.value);
      expect(byKind(CoreReloKind.ENUMVAL_VALUE)[0]!.original).toBe(1000n);
      expect(byKind(CoreReloKind.TYPE_SIZE)[0]!.original).toBe(BigInt(btf.find('task_struct', BtfKind.STRUCT)!.sizeOrType));
    });

    it(`patches direct loads, shrinking the u64 load of a u32 field (${file})`, () => {
      const { btf, programs } = load(file);
      const before = bySlot(programs.core_direct!.instructions, le);
      const { report, insns } = resolve(programs.core_direct!, btf, le);
      const flags = member(task, 'flags');
      expect(vmlinux.types[flags.type]).toMatchObject({ kind: BtfKind.INT, sizeOrType: 4 });
      const wide = report.find((r) => r.localSpec.startsWith('struct task_struct___wide.flags'))!;
      expect(wide).toMatchObject({ status: 'relocated', memorySize: { from: 8, to: 4 }, value: BigInt(flags.bitOffset / 8) });
      expect(before.get(wide.index)!.opcode).toBe(0x79); // ldxdw
      expect(insns.get(wide.index)).toMatchObject({ opcode: 0x61, offset: flags.bitOffset / 8 }); // ldxw
      const tgid = report.find((r) => r.localSpec.startsWith('struct task_struct.tgid'))!;
      expect(insns.get(tgid.index)).toMatchObject({ opcode: 0x61, offset: member(task, 'tgid').bitOffset / 8 });
      // Only relocated instructions changed.
      const touched = new Set(report.map((r) => r.index));
      for (const [slot, insn] of before) if (!touched.has(slot)) expect(insns.get(slot)).toEqual(insn);
    });
  }

  it('shares a candidate cache between the programs of an object with the same results', () => {
    const { btf, programs } = load('core.bpf.o');
    const cache: CoreCandidateCache = new Map();
    for (const p of Object.values(programs)) {
      const alone = resolve(p, btf, true);
      const shared = resolve(p, btf, true, cache);
      expect(shared.instructions).toEqual(alone.instructions);
      expect(shared.report).toEqual(alone.report);
    }
    expect(cache.get(btf.find('task_struct', BtfKind.STRUCT)!.id)).toEqual([{ btf: vmlinux, targetIndex: 0, typeId: task.id }]);
  });
});
