import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from './build.js';
import { BtfKind } from './kinds.js';
import { parseBtf } from './parse.js';

/** Flavoured and duplicate names, as vmlinux and CO-RE objects have them. */
function flavoured(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true); // 1
  b.addStruct('task', 4, [['pid', int, 0]]); // 2
  b.addTypedef('task', int); // 3: same name, another kind
  b.addStruct('task___v2', 4, [['tgid', int, 0]]); // 4: a flavour of task
  b.addStruct('a____b', 4, [['x', int, 0]]); // 5: four underscores: no flavour
  b.addStruct('task___', 4, [['y', int, 0]]); // 6: nothing after the underscores: no flavour
  b.addEnum('mode', [['ON', 1]]); // 7
  return b.encode();
}

describe('lazily decoded BTF', () => {
  it('finds by name and kind the first type, and by essential name every flavour in id order', () => {
    const btf = parseBtf(flavoured());
    expect(btf.typeCount).toBe(8);
    expect(btf.find('task')?.id).toBe(2);
    expect(btf.find('task', BtfKind.TYPEDEF)?.id).toBe(3);
    expect(btf.find('task___v2')?.members?.[0]?.name).toBe('tgid');
    expect(btf.find('task___v3')).toBeUndefined();
    expect(btf.find('tas')).toBeUndefined();
    expect(btf.find('')).toBeUndefined();
    expect(btf.idsByEssentialName('task')).toEqual([2, 3, 4]);
    expect(btf.idsByEssentialName('a____b')).toEqual([5]);
    expect(btf.idsByEssentialName('task___')).toEqual([6]);
    expect(btf.idsByEssentialName('mode')).toEqual([7]);
    expect(btf.idsByEssentialName('nothing')).toEqual([]);
  });

  it('searches functions, the other kinds or both, as asked', () => {
    const b = new BtfBuilder();
    const int = b.addInt('int', 4, true); // 1
    const proto = b.addFuncProto(int, []); // 2
    b.addFunc('open', proto); // 3: a function
    b.addStruct('open', 4, [['fd', int, 0]]); // 4: a struct of the same name
    b.addFunc('open___v2', proto); // 5: a flavoured function
    const btf = parseBtf(b.encode());
    expect(btf.idsByEssentialName('open')).toEqual([3, 4, 5]);
    expect(btf.idsByEssentialName('open', 'all')).toEqual([3, 4, 5]);
    expect(btf.idsByEssentialName('open', 'functions')).toEqual([3, 5]);
    expect(btf.idsByEssentialName('open', 'types')).toEqual([4]);
    expect(btf.find('open')?.id).toBe(3);
    expect(btf.find('open', BtfKind.STRUCT)?.id).toBe(4);
    expect(btf.find('open', BtfKind.FUNC)?.id).toBe(3);
    expect(btf.find('open___v2', BtfKind.STRUCT)).toBeUndefined();
  });

  it('decodes a type once, the same object through type() and types[]', () => {
    const btf = parseBtf(flavoured());
    const first = btf.type(4);
    expect(first).toMatchObject({ id: 4, kind: BtfKind.STRUCT, name: 'task___v2' });
    expect(btf.type(4)).toBe(first);
    expect(btf.types[4]).toBe(first);
    expect(btf.type(0)).toMatchObject({ id: 0, kind: BtfKind.UNKN });
    for (const id of [-1, 8, 1.5, Number.NaN]) expect(btf.type(id)).toBeUndefined();
  });

  it('copies the blob unless it is handed over', () => {
    const copied = flavoured();
    const kept = flavoured();
    const a = parseBtf(copied);
    const b = parseBtf(kept, undefined, { owned: true });
    // Overwrite the strings ('task' becomes 'xask' in both blobs) before anything is decoded.
    for (const blob of [copied, kept]) {
      const at = Buffer.from(blob).indexOf('task\0');
      blob[at] = 'x'.charCodeAt(0);
    }
    expect(a.type(2)?.name).toBe('task');
    expect(b.type(2)?.name).toBe('xask');
  });

  it('checks type references unless the blob is trusted (the kernel checked its own)', () => {
    const b = new BtfBuilder();
    b.addPointer(99);
    const dangling = b.encode();
    expect(() => parseBtf(dangling)).toThrow(/its target refers to type 99, but there are 2/);
    expect(parseBtf(dangling, undefined, { trusted: true }).type(1)?.sizeOrType).toBe(99);
  });

  it('searches the base of split BTF first and indexes only its own types by essential name', () => {
    const base = parseBtf(flavoured());
    const mod = BtfBuilder.splitOf(base);
    const own = mod.addStruct('task___mod', 4, [['z', base.find('int')!.id, 0]]);
    mod.addStruct('task', 4, [['w', base.find('int')!.id, 0]]);
    const split = parseBtf(mod.encode(), base);
    expect(split.typeCount).toBe(base.typeCount + 2);
    expect(split.find('task')?.id).toBe(2); // the base's
    expect(split.find('task___mod')?.id).toBe(own);
    expect(split.idsByEssentialName('task')).toEqual([own, own + 1]);
    expect(split.type(2)).toBe(base.type(2));
  });

  it.runIf(fs.existsSync('/sys/kernel/btf/vmlinux'))('agrees with a full decode of vmlinux on every named type', () => {
    const bytes = new Uint8Array(fs.readFileSync('/sys/kernel/btf/vmlinux'));
    const lazy = parseBtf(bytes);
    const all = parseBtf(bytes).types;
    expect(lazy.typeCount).toBe(all.length);
    const firstByName = new Map<string, number>();
    for (const t of all) if (t.name && !firstByName.has(t.name)) firstByName.set(t.name, t.id);
    let checked = 0;
    for (const [name, id] of firstByName) {
      if (checked++ % 97 !== 0) continue; // a sample: the lookups are what is under test
      expect(lazy.find(name)?.id).toBe(id);
    }
    expect(lazy.type(all.length - 1)).toEqual(all[all.length - 1]);
    expect(lazy.find('task_struct', BtfKind.STRUCT)?.members?.length).toBeGreaterThan(50);
  });
});
