import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { BtfBuilder } from './build.js';
import { BtfKind } from './kinds.js';
import { parseBtf } from './parse.js';

function base(littleEndian = true) {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  b.addStruct('list_head', 16, [
    ['next', b.addPointer(0), 0],
    ['prev', 2, 8],
  ]);
  b.addEnum('state', [['IDLE', 0]]);
  return { bytes: b.encode(littleEndian), int };
}

describe('split BTF', () => {
  for (const le of [true, false]) {
    it(`continues the base's type ids and string offsets (${le ? 'little' : 'big'}-endian)`, () => {
      const { bytes, int } = base(le);
      const vmlinux = parseBtf(bytes);
      expect(vmlinux).toMatchObject({ firstTypeId: 1, firstStringOffset: 0 });
      expect(vmlinux.base).toBeUndefined();
      const m = BtfBuilder.splitOf(vmlinux);
      // A name the base also has (reused by the module) and new ones.
      const conn = m.addStruct('nf_conn', 24, [
        ['status', int, 0],
        ['list', vmlinux.find('list_head')!.id, 8],
      ]);
      const ptr = m.addPointer(conn);
      const state = m.addEnum('state', [['ACTIVE', 1]]);
      const mod = parseBtf(m.encode(le), vmlinux);

      expect(mod.base).toBe(vmlinux);
      expect(mod.firstTypeId).toBe(vmlinux.types.length);
      expect(mod.firstStringOffset).toBe(vmlinux.strings.byteLength);
      expect(conn).toBe(vmlinux.types.length);
      expect(mod.types.length).toBe(vmlinux.types.length + 3);
      // Base types are the same objects; module types refer to them.
      expect(mod.types[int]).toBe(vmlinux.types[int]);
      expect(mod.types[conn]).toMatchObject({ id: conn, name: 'nf_conn', kind: BtfKind.STRUCT });
      expect(mod.types[conn]!.members).toEqual([
        { name: 'status', type: int, bitOffset: 0 },
        { name: 'list', type: vmlinux.find('list_head')!.id, bitOffset: 64 },
      ]);
      expect(mod.types[ptr]!.sizeOrType).toBe(conn);
      // Strings below the base's length come from the base.
      const intName = Buffer.from(vmlinux.strings).indexOf(Buffer.from('int\0'));
      expect(mod.string(intName)).toBe('int');
      const ownName = vmlinux.strings.byteLength + Buffer.from(mod.strings).indexOf(Buffer.from('nf_conn\0'));
      expect(mod.string(ownName)).toBe('nf_conn');
      expect(() => vmlinux.string(ownName)).toThrow(ParseError);
      // find() searches the base first, then the module.
      expect(mod.find('nf_conn')!.id).toBe(conn);
      expect(mod.find('list_head')!.id).toBe(vmlinux.find('list_head')!.id);
      expect(mod.find('state')!.id).toBe(vmlinux.find('state')!.id);
      expect(mod.find('state')!.enumerators).toEqual([{ name: 'IDLE', value: 0n }]);
      expect(mod.types[state]!.enumerators).toEqual([{ name: 'ACTIVE', value: 1n }]);
      expect(vmlinux.find('nf_conn')).toBeUndefined();
    });
  }

  it('refuses split BTF read without its base, with a dangling id, or in the other byte order', () => {
    const { bytes, int } = base();
    const vmlinux = parseBtf(bytes);
    const m = BtfBuilder.splitOf(vmlinux);
    m.addStruct('nf_conn', 4, [['status', int, 0]]);
    const blob = m.encode();
    // Alone, its string offsets point past its own strings.
    expect(() => parseBtf(blob)).toThrow(/string offset \d+ outside/);
    const dangling = BtfBuilder.splitOf(vmlinux);
    dangling.addPointer(vmlinux.types.length + 5);
    expect(() => parseBtf(dangling.encode(), vmlinux)).toThrow(/refers to type/);
    expect(() => parseBtf(m.encode(false), vmlinux)).toThrow(/big-endian but its base is not/);
    expect(() => vmlinux.string(1 << 20)).toThrow(ParseError);
  });

  const modules = fs.existsSync('/sys/kernel/btf') ? fs.readdirSync('/sys/kernel/btf').filter((f) => f !== 'vmlinux') : [];
  it.skipIf(modules.length === 0 || !fs.existsSync('/sys/kernel/btf/vmlinux'))(
    `parses the running kernel's module BTF on vmlinux${modules.length === 0 ? ' (skipped: no module BTF in /sys/kernel/btf)' : ''}`,
    () => {
      const vmlinux = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux'));
      for (const name of modules.slice(0, 5)) {
        const mod = parseBtf(fs.readFileSync(`/sys/kernel/btf/${name}`), vmlinux);
        expect(mod.firstTypeId).toBe(vmlinux.types.length);
        expect(mod.types.length).toBeGreaterThanOrEqual(vmlinux.types.length);
        expect(mod.find('task_struct', BtfKind.STRUCT)).toBe(vmlinux.find('task_struct', BtfKind.STRUCT));
      }
    },
  );
});
