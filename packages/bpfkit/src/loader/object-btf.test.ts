import fs from 'node:fs';
import path from 'node:path';
import { encodeBtf, objectBtfForKernel, patchObjectBtfForKernel, readObject } from '@bpfkit/elf';
import { btfInfoByFd, native } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it, vi } from 'vitest';
import { loadObjectBtf } from './object-btf.js';

// Which path loadObjectBtf took: the full rewrite calls objectBtfForKernel, the patched bytes do not.
vi.mock('@bpfkit/elf', async (importOriginal) => {
  const elf = await importOriginal<typeof import('@bpfkit/elf')>();
  return { ...elf, objectBtfForKernel: vi.fn(elf.objectBtfForKernel) };
});
const rewrites = vi.mocked(objectBtfForKernel);

// packages/elf/testdata/core.bpf.o: little-endian, a .rodata DATASEC, no .kconfig or .ksyms.
const file = path.resolve(import.meta.dirname, '../../../elf/testdata/core.bpf.o');

/** The raw BTF the kernel holds for a BTF fd. */
function kernelCopy(fd: number): Uint8Array {
  const size = btfInfoByFd(fd).btfSize;
  const btf = new Uint8Array(size);
  btfInfoByFd(fd, { btf });
  return btf;
}

/** The object with its `.BTF` section 4 bytes longer (into what follows it): parsed as before, refused by the kernel as it is. */
function withTrailingBtfBytes(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  const { elf } = readObject(copy);
  const btf = elf.section('.BTF')!;
  const header = Number(view.getBigUint64(40, true)) + btf.index * 64; // e_shoff, Elf64_Shdr
  view.setBigUint64(header + 32, BigInt(btf.size + 4), true); // sh_size
  return copy;
}

whenKernel().describe('loadObjectBtf', () => {
  it("hands the kernel the object's own bytes, patched", () => {
    const spec = readObject(new Uint8Array(fs.readFileSync(file)));
    const patched = patchObjectBtfForKernel(spec.elf, spec.btf!, spec.externs);
    expect(patched).toBeDefined();
    rewrites.mockClear();
    const r = loadObjectBtf(spec.elf, spec.btf!, spec.externs);
    if (!('fd' in r)) throw new Error(r.warning);
    try {
      expect(rewrites).not.toHaveBeenCalled();
      expect(Buffer.from(kernelCopy(r.fd)).equals(Buffer.from(patched!))).toBe(true);
    } finally {
      native.close(r.fd);
    }
  });

  it('falls back to the full rewrite when the kernel refuses the patched bytes', () => {
    const spec = readObject(withTrailingBtfBytes(new Uint8Array(fs.readFileSync(file))));
    const patched = patchObjectBtfForKernel(spec.elf, spec.btf!, spec.externs)!;
    expect(patched.byteLength).toBe(spec.elf.section('.BTF')!.size);
    rewrites.mockClear();
    const r = loadObjectBtf(spec.elf, spec.btf!, spec.externs);
    if (!('fd' in r)) throw new Error(r.warning);
    try {
      expect(rewrites).toHaveBeenCalledTimes(1);
      const full = encodeBtf(objectBtfForKernel(spec.elf, spec.btf!, spec.externs), true, { strings: spec.btf!.strings });
      // This kernel has every BTF kind the object uses: the rewrite is loaded as it is, and it is not the patched blob.
      const held = Buffer.from(kernelCopy(r.fd));
      expect(held.equals(Buffer.from(full))).toBe(true);
      expect(held.equals(Buffer.from(patched))).toBe(false);
    } finally {
      native.close(r.fd);
    }
  });
});
