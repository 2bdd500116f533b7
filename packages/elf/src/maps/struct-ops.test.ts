import fs from 'node:fs';
import { ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { parseBtf } from '../btf/parse.js';
import type { Btf } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import type { ElfFile, ElfRelocation } from '../elf/parse.js';
import { readObject } from '../object.js';
import { btfWithTypes } from '../test-support/btf.js';
import { isStructOpsSection, structOpsFromElf, structOpsUses } from './struct-ops.js';

const testdata = new URL('../../testdata/', import.meta.url);
const open = (file: string): { elf: ElfFile; btf: Btf } => {
  const elf = parseElf(new Uint8Array(fs.readFileSync(new URL(file, testdata))));
  return { elf, btf: parseBtf(elf.data(elf.section('.BTF')!)) };
};
const PROGRAMS = [
  ['ssthresh', 0, 0, 'bpfkit_ssthresh'],
  ['cong_avoid', 1, 8, 'bpfkit_cong_avoid'],
  ['undo_cwnd', 2, 16, 'bpfkit_undo_cwnd'],
  ['init', 3, 24, 'bpfkit_init'],
] as const;

/** The ELF with the struct_ops section's relocations replaced. */
function withRelocations(elf: ElfFile, change: (r: ElfRelocation[]) => ElfRelocation[]): ElfFile {
  const index = elf.section('.struct_ops.link')!.index;
  return { ...elf, relocations: (target) => (target === index ? change(elf.relocations(target)) : elf.relocations(target)) };
}

describe('structOpsFromElf', () => {
  for (const [file, le] of [
    ['struct_ops.bpf.o', true],
    ['struct_ops.bpf.eb.o', false],
  ] as const) {
    it(`reads the struct_ops variable, its bytes and the programs its members point to (${file})`, () => {
      const { elf, btf } = open(file);
      const maps = structOpsFromElf(elf, btf);
      expect(Object.keys(maps)).toEqual(['bpfkit_cc']);
      const m = maps.bpfkit_cc!;
      expect(m).toMatchObject({
        name: 'bpfkit_cc',
        section: '.struct_ops.link',
        link: true,
        optional: false,
        typeName: 'tcp_congestion_ops',
        kernelTypeName: 'tcp_congestion_ops',
        size: 56,
      });
      expect(btf.type(m.typeId)!.name).toBe('tcp_congestion_ops');
      expect(m.functions).toEqual(PROGRAMS.map(([member, memberIndex, offset, program]) => ({ member, memberIndex, offset, program })));
      // Function slots are zero; name at 32 and flags (= 1) at 48 in the object's byte order.
      expect(m.data.subarray(0, 32).every((b) => b === 0)).toBe(true);
      expect(new TextDecoder().decode(m.data.subarray(32, 41))).toBe('bpfkit_cc');
      expect(m.data[41]).toBe(0);
      expect(new DataView(m.data.buffer, m.data.byteOffset).getUint32(48, le)).toBe(1);
      expect(structOpsUses(maps).bpfkit_init).toEqual([{ map: 'bpfkit_cc', member: 'init', memberIndex: 3 }]);
    });
  }

  it('is part of readObject, next to the struct_ops programs', () => {
    const spec = readObject(new Uint8Array(fs.readFileSync(new URL('struct_ops.bpf.o', testdata))));
    expect(Object.keys(spec.structOps)).toEqual(['bpfkit_cc']);
    expect(Object.keys(spec.maps)).toEqual([]);
    for (const [, , , program] of PROGRAMS)
      expect(spec.programs[program]).toMatchObject({ type: ProgramType.STRUCT_OPS, section: `struct_ops/${program}` });
    expect(readObject(new Uint8Array(fs.readFileSync(new URL('basics.bpf.o', testdata)))).structOps).toEqual({});
  });

  it("recognises libbpf's section names only", () => {
    expect(['.struct_ops', '.struct_ops.link', '?.struct_ops', '?.struct_ops.link'].every(isStructOpsSection)).toBe(true);
    expect(['.struct_ops.x', 'struct_ops', '.rel.struct_ops', '.struct_opsx'].some(isStructOpsSection)).toBe(false);
  });

  it('reads a flavoured type and an optional section', () => {
    const { elf, btf } = open('struct_ops.bpf.o');
    const types = btf.types.map((t) =>
      t.name === 'tcp_congestion_ops'
        ? { ...t, name: 'tcp_congestion_ops___v2' }
        : t.name === '.struct_ops.link'
          ? { ...t, name: '?.struct_ops.link' }
          : t,
    );
    const sections = elf.sections.map((s) => (s.name === '.struct_ops.link' ? { ...s, name: '?.struct_ops.link' } : s));
    const renamed: ElfFile = { ...elf, sections, section: (n) => sections.find((s) => s.name === n) };
    const m = structOpsFromElf(renamed, btfWithTypes(btf, types)).bpfkit_cc!;
    expect(m).toMatchObject({
      section: '?.struct_ops.link',
      link: true,
      optional: true,
      typeName: 'tcp_congestion_ops___v2',
      kernelTypeName: 'tcp_congestion_ops',
    });
  });

  it('refuses malformed struct_ops sections with a ParseError naming the problem', () => {
    const { elf, btf } = open('struct_ops.bpf.o');
    const fails = (e: ElfFile, b: Btf | undefined, message: RegExp) => {
      expect(() => structOpsFromElf(e, b)).toThrow(ParseError);
      expect(() => structOpsFromElf(e, b)).toThrow(message);
    };
    fails(elf, undefined, /section '.struct_ops.link' declares struct_ops maps, which need the object's BTF/);
    // A relocation in the middle of a member, one outside every variable, one at a data member.
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, offset: 4 }]),
      btf,
      /relocation at offset 4 is at no member of struct tcp_congestion_ops/,
    );
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, offset: 56 }]),
      btf,
      /relocation at offset 56 lies in no struct_ops variable/,
    );
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, offset: 32 }]),
      btf,
      /member 'name' is set by a relocation but is not a function pointer/,
    );
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, type: 1 }]),
      btf,
      /member 'ssthresh' has relocation type 1, expected R_BPF_64_ABS64/,
    );
    // A pointer to something that is not a struct_ops program: the LICENSE variable, an undefined symbol.
    const license = elf.symbols.findIndex((s) => s.name === 'LICENSE');
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, symbol: license }]),
      btf,
      /member 'ssthresh' points to offset 0 of section 'license', where no function starts/,
    );
    expect(elf.symbols[0]!.section).toBe(0);
    fails(
      withRelocations(elf, (rs) => [{ ...rs[0]!, symbol: 0 }]),
      btf,
      /not defined in the object/,
    );
    // A struct_ops variable that is not a struct.
    const datasec = btf.find('.struct_ops.link')!;
    const calls = btf.types.find((t) => t.name === 'calls')!;
    const types = btf.types.map((t) => (t.id === datasec.id ? { ...t, variables: [{ type: calls.id, offset: 0, size: 8 }] } : t));
    fails(elf, btfWithTypes(btf, types), /struct_ops variable 'calls' is not a struct/);
  });

  it('refuses a member pointing to a function outside struct_ops sections', () => {
    const { elf, btf } = open('struct_ops.bpf.o');
    // The same function, in a section that makes it an XDP program.
    const sections = elf.sections.map((s) => (s.name === 'struct_ops/bpfkit_ssthresh' ? { ...s, name: 'xdp' } : s));
    expect(() => structOpsFromElf({ ...elf, sections }, btf)).toThrow(ParseError);
    expect(() => structOpsFromElf({ ...elf, sections }, btf)).toThrow(
      /member 'ssthresh' points to 'bpfkit_ssthresh' in section 'xdp', which is not a struct_ops program/,
    );
  });
});
