import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfKind } from '../btf/kinds.js';
import { encodeBtf } from '../btf/encode.js';
import { parseBtf } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import { ParseError } from '../errors.js';
import { externsFromObject, objectBtfForKernel } from './externs.js';

const testdata = new URL('../../testdata/', import.meta.url);
const load = (file: string) => {
  const elf = parseElf(new Uint8Array(fs.readFileSync(new URL(file, testdata))));
  return { elf, btf: parseBtf(elf.data(elf.section('.BTF')!)) };
};

describe('externs', () => {
  for (const file of ['externs.bpf.o', 'externs.bpf.eb.o']) {
    it(`classifies kconfig values, typed and typeless ksyms and kfuncs (${file})`, () => {
      const { elf, btf } = load(file);
      const { externs, kconfigSize } = externsFromObject(elf, btf);
      const byName = Object.fromEntries(externs.map((e) => [e.name, e]));
      expect(Object.keys(byName).sort()).toEqual([
        'CONFIG_BPFKIT_NO_SUCH_OPTION',
        'CONFIG_BPF_JIT',
        'CONFIG_BPF_SYSCALL',
        'CONFIG_HZ',
        'CONFIG_LOCALVERSION',
        'LINUX_KERNEL_VERSION',
        '__x64_sys_bpf',
        'bpf_prog_active',
        'bpf_rcu_read_lock',
        'bpf_rcu_read_unlock',
        'bpfkit_no_such_kfunc',
      ]);
      expect(byName.LINUX_KERNEL_VERSION).toMatchObject({ kind: 'kconfig', size: 4, weak: false });
      expect(byName.CONFIG_BPFKIT_NO_SUCH_OPTION).toMatchObject({ kind: 'kconfig', size: 1, weak: true });
      expect(byName.CONFIG_LOCALVERSION).toMatchObject({ kind: 'kconfig', size: 16 });
      expect(byName.bpf_prog_active).toMatchObject({ kind: 'ksym', isFunc: false });
      expect(byName.bpf_prog_active!.type).not.toBe(0);
      expect(byName.__x64_sys_bpf).toMatchObject({ kind: 'ksym', isFunc: false, type: 0 });
      expect(byName.bpf_rcu_read_lock).toMatchObject({ kind: 'ksym', isFunc: true, weak: true });
      expect(byName.__x64_sys_bpf).toMatchObject({ weak: false });
      expect(byName.bpfkit_no_such_kfunc).toMatchObject({ kind: 'ksym', isFunc: true, weak: true });
      // Kconfig values are laid out without overlap, each naturally aligned, inside the map value.
      const kconfig = externs.filter((e) => e.kind === 'kconfig').sort((a, b) => a.offset - b.offset);
      for (let i = 0; i < kconfig.length; i++) {
        const e = kconfig[i]!;
        expect(e.offset % Math.min(8, e.name === 'CONFIG_LOCALVERSION' ? 1 : e.size)).toBe(0);
        if (i > 0) expect(e.offset).toBeGreaterThanOrEqual(kconfig[i - 1]!.offset + kconfig[i - 1]!.size);
      }
      expect(kconfigSize % 8).toBe(0);
      expect(kconfigSize).toBeGreaterThanOrEqual(kconfig.at(-1)!.offset + kconfig.at(-1)!.size);
    });
  }

  it('finds none in an object without externs', () => {
    const { elf, btf } = load('basics.bpf.o');
    expect(externsFromObject(elf, btf)).toEqual({ externs: [], kconfigSize: 0 });
  });

  it('needs BTF to classify externs', () => {
    const { elf } = load('externs.bpf.o');
    expect(() => externsFromObject(elf, undefined)).toThrow(ParseError);
  });
});

describe('objectBtfForKernel', () => {
  it('sizes data sections, places variables at their symbols and drops extern linkage', () => {
    const { elf, btf } = load('externs.bpf.o');
    const externs = externsFromObject(elf, btf);
    const types = objectBtfForKernel(elf, btf, externs);
    const sec = (name: string) => types.find((t) => t.kind === BtfKind.DATASEC && t.name === name)!;
    expect(sec('.bss').sizeOrType).toBe(elf.section('.bss')!.size);
    const offsets = sec('.bss').variables!.map((v) => v.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const symbols = Object.fromEntries(elf.symbols.map((s) => [s.name, Number(s.value)]));
    for (const v of sec('.bss').variables!) expect(v.offset).toBe(symbols[types[v.type]!.name]);
    expect(sec('.kconfig').sizeOrType).toBe(externs.kconfigSize);
    for (const v of sec('.ksyms').variables!) expect(types[v.type]!.kind).toBe(BtfKind.VAR);
    expect(types.filter((t) => (t.kind === BtfKind.VAR && t.linkage === 2) || (t.kind === BtfKind.FUNC && t.vlen === 2))).toEqual([]);
    // The input is untouched and the result encodes.
    expect(btf.types.some((t) => t.kind === BtfKind.VAR && t.linkage === 2)).toBe(true);
    expect(parseBtf(encodeBtf(types)).types.length).toBe(types.length);
  });
});
