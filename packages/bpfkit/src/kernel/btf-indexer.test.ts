// The addon's BTF passes (nativeBtfIndexer) against parseBtf's own: the same
// types, the same CO-RE candidates, the same errors, on every test object in
// both byte orders, on vmlinux and on a module's split BTF.
import fs from 'node:fs';
import path from 'node:path';
import { BtfBuilder, parseBtf, parseElf } from '@bpfkit/elf';
import type { Btf, BtfIndexer } from '@bpfkit/elf';
import { mapFileReadOnly, nativeBtfIndexer } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';

const indexer: BtfIndexer = nativeBtfIndexer;
const dirs = ['../../../elf/testdata/', '../../testdata/'].map((d) => new URL(d, import.meta.url));
const objects = dirs.flatMap((dir) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.o'))
    .map((f) => ({ name: f, file: new URL(f, dir) })),
);

function objectBtf(file: URL): Uint8Array | undefined {
  const elf = parseElf(new Uint8Array(fs.readFileSync(file)));
  const section = elf.section('.BTF');
  return section ? elf.data(section) : undefined;
}

/** The essential name of a type name: up to its last `___flavour` (libbpf's rule). */
function essential(name: string): string {
  const m = /^(.*[^_])___[^_].*$/.exec(name);
  return m ? m[1]! : name;
}

/** Both parses agree on `ids`: each type, and the candidates and find() of each name. */
function expectSame(js: Btf, native: Btf, ids: Iterable<number>): number {
  expect(native.typeCount).toBe(js.typeCount);
  let named = 0;
  for (const id of ids) {
    const t = js.type(id)!;
    expect(native.type(id)).toEqual(t);
    if (!t.name) continue;
    named++;
    for (const which of ['all', 'types', 'functions'] as const) {
      expect(native.idsByEssentialName(essential(t.name), which)).toEqual(js.idsByEssentialName(essential(t.name), which));
    }
    expect(native.find(t.name)?.id).toBe(js.find(t.name)?.id);
    expect(native.find(t.name, t.kind)?.id).toBe(js.find(t.name, t.kind)?.id);
  }
  return named;
}

describe('nativeBtfIndexer', () => {
  for (const { name, file } of objects) {
    it(`indexes the BTF of ${name} as parseBtf does`, () => {
      const bytes = objectBtf(file);
      if (!bytes) return;
      const js = parseBtf(bytes);
      const native = parseBtf(bytes, undefined, { indexer });
      const ids = Array.from({ length: js.typeCount - 1 }, (_, i) => i + 1);
      expect(expectSame(js, native, ids)).toBeGreaterThan(0);
    });
  }

  it('finds flavoured candidates (`___v1`) in both byte orders', () => {
    for (const f of ['core.bpf.o', 'core.bpf.eb.o']) {
      const bytes = objectBtf(new URL(f, dirs[0]))!;
      const js = parseBtf(bytes);
      const native = parseBtf(bytes, undefined, { indexer });
      const flavoured = Array.from({ length: js.typeCount - 1 }, (_, i) => js.type(i + 1)!).filter((t) => t.name?.includes('___'));
      expect(flavoured.length, f).toBeGreaterThan(0);
      for (const t of flavoured) {
        const ids = native.idsByEssentialName(essential(t.name!));
        expect(ids).toContain(t.id);
        expect(ids).toEqual(js.idsByEssentialName(essential(t.name!)));
      }
    }
  });

  for (const le of [true, false]) {
    it(`indexes split BTF past its base's types and strings (${le ? 'little' : 'big'}-endian)`, () => {
      const b = new BtfBuilder();
      const int = b.addInt('int', 4, true);
      b.addStruct('nf_conn___old', 4, [['status', int, 0]]);
      b.addStruct('list_head', 16, []);
      const base = parseBtf(b.encode(le));
      const baseNative = parseBtf(b.encode(le), undefined, { indexer });
      const m = BtfBuilder.splitOf(base);
      m.addStruct('nf_conn', 8, [['status', int, 0]]); // a new name, with a flavour in the base
      m.addStruct('list_head', 16, []); // a name the base has: its string is the base's
      m.addStruct('nf_conn___new', 8, []);
      const bytes = m.encode(le);
      const js = parseBtf(bytes, base);
      const native = parseBtf(bytes, baseNative, { indexer });
      expect(native.firstStringOffset).toBeGreaterThan(0);
      expectSame(
        js,
        native,
        Array.from({ length: js.typeCount - 1 }, (_, i) => i + 1),
      );
      expect(native.idsByEssentialName('nf_conn')).toEqual([base.typeCount, base.typeCount + 2]);
      expect(native.find('list_head')?.id).toBe(base.find('list_head')?.id);
    });
  }

  it('leaves a malformed blob to the JavaScript scan, which says where', () => {
    const bytes = objectBtf(new URL('core.bpf.o', dirs[0]))!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Cut the type section mid-record: the header says 5 bytes fewer.
    const cut = bytes.slice();
    new DataView(cut.buffer).setUint32(12, view.getUint32(12, true) - 5, true);
    expect(() => parseBtf(cut, undefined, { indexer })).toThrow(/runs past the type section/);
    expect(() => parseBtf(cut, undefined, { indexer })).toThrow(
      (() => {
        try {
          parseBtf(cut);
        } catch (err) {
          return (err as Error).message;
        }
        throw new Error('the JavaScript scan accepted a cut blob');
      })(),
    );
    expect(nativeBtfIndexer.scanTypes(cut, 24, view.getUint32(12, true) - 5, true, new Uint32Array(bytes.length))).toBe(-1);
    expect(nativeBtfIndexer.scanTypes(bytes, 24, view.getUint32(12, true), true, new Uint32Array(1))).toBe(-2);
  });

  it('refuses sections outside the blob and tables of the wrong size with a RangeError', () => {
    const bytes = objectBtf(new URL('core.bpf.o', dirs[0]))!;
    expect(() => nativeBtfIndexer.scanTypes(bytes, 24, bytes.length, true, new Uint32Array(1))).toThrow(RangeError);
    const offsets = new Uint32Array(4);
    const table = (n: number) => new Int32Array(n);
    expect(() => nativeBtfIndexer.indexNames(bytes, offsets, 0, bytes.length, 0, true, false, table(3), table(5), table(5))).toThrow(
      /power of two/,
    );
    expect(() => nativeBtfIndexer.indexNames(bytes, offsets, 0, bytes.length, 0, true, false, table(4), table(4), table(5))).toThrow(
      /one longer than offsets/,
    );
    expect(() => nativeBtfIndexer.indexNames(bytes, offsets, 0, bytes.length + 1, 0, true, true, table(4), table(5), table(5))).toThrow(
      RangeError,
    );
    expect(() =>
      nativeBtfIndexer.indexNames(bytes, Uint32Array.of(bytes.length), 0, 8, 0, true, false, table(4), table(2), table(2)),
    ).toThrow(/outside the blob/);
  });

  const vmlinux = '/sys/kernel/btf/vmlinux';
  const kernelBtf = fs.existsSync(vmlinux) ? (mapFileReadOnly(vmlinux) ?? new Uint8Array(fs.readFileSync(vmlinux))) : undefined;
  it.skipIf(!kernelBtf)(
    `indexes the kernel's BTF and a module's split BTF as parseBtf does${kernelBtf ? '' : ` (skipped: ${vmlinux} is missing)`}`,
    () => {
      const js = parseBtf(kernelBtf!, undefined, { owned: true, trusted: true });
      const native = parseBtf(kernelBtf!, undefined, { owned: true, trusted: true, indexer });
      // Every 97th type, and the ones CO-RE asks for most.
      const sample = new Set(Array.from({ length: Math.floor(js.typeCount / 97) }, (_, i) => 1 + i * 97));
      for (const n of ['task_struct', 'sock', 'sk_buff', 'file', 'inode', 'pt_regs']) {
        const t = js.find(n);
        if (t) sample.add(t.id);
      }
      expectSame(js, native, sample);
      const module = fs.readdirSync('/sys/kernel/btf').find((f) => f !== 'vmlinux');
      if (!module) return; // a kernel without loadable modules' BTF: the split case is the test objects' alone
      const bytes = new Uint8Array(fs.readFileSync(path.join('/sys/kernel/btf', module)));
      const splitJs = parseBtf(bytes, js, { trusted: true });
      const splitNative = parseBtf(bytes, native, { trusted: true, indexer });
      expectSame(
        splitJs,
        splitNative,
        Array.from({ length: splitJs.typeCount - js.typeCount }, (_, i) => js.typeCount + i),
      );
    },
  );
});
