import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BtfKind } from '../btf/kinds.js';
import { encodeBtf } from '../btf/encode.js';
import { parseBtf } from '../btf/parse.js';
import type { BtfType } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import { externsFromObject, objectBtfForKernel } from './externs.js';
import { testObjectFiles } from '../test-support/mutate.js';
import { patchObjectBtfForKernel } from './patch-btf.js';

/** Every BPF object the repository's packages keep as test data, both byte orders. */
const here = path.dirname(fileURLToPath(import.meta.url));
const packages = path.resolve(here, '..', '..', '..');
const objects = testObjectFiles(packages, fs);

/** The BTF of an object that has some. */
const someBtf = () => {
  const elf = parseElf(new Uint8Array(fs.readFileSync(path.join(packages, 'elf', 'testdata', 'core.bpf.o'))));
  return parseBtf(elf.data(elf.section('.BTF')!));
};

/** Types as the kernel would read them: names resolved, so the two blobs' string offsets do not matter. */
const typesOf = (blob: Uint8Array): BtfType[] => parseBtf(blob).types;

describe('patchObjectBtfForKernel', () => {
  it('finds the test objects', () => {
    expect(objects.length).toBeGreaterThanOrEqual(20);
  });

  const patchedFiles: string[] = [];
  const changed: string[] = [];
  for (const file of objects) {
    const name = path.relative(packages, file);
    it(`gives the types of the full rewrite, or leaves the object to it (${name})`, () => {
      const elf = parseElf(new Uint8Array(fs.readFileSync(file)));
      const section = elf.section('.BTF');
      if (!section) {
        // Built without -g: nothing to load, whatever BTF the caller hands over.
        expect(patchObjectBtfForKernel(elf, someBtf(), { externs: [], kconfigSize: 0 })).toBeUndefined();
        return;
      }
      const original = elf.data(section).slice();
      const btf = parseBtf(elf.data(section));
      const externs = externsFromObject(elf, btf);
      const patched = patchObjectBtfForKernel(elf, btf, externs);
      const hasExternSection = btf.types.some((t) => t.kind === BtfKind.DATASEC && (t.name === '.kconfig' || t.name === '.ksyms'));
      if (!btf.littleEndian || hasExternSection) {
        expect(patched).toBeUndefined();
        return;
      }
      expect(patched).toBeInstanceOf(Uint8Array);
      const full = encodeBtf(objectBtfForKernel(elf, btf, externs), true, { strings: btf.strings });
      expect(typesOf(patched!)).toEqual(typesOf(full));
      // clang writes BTF as encodeBtf does (header, types, strings, nothing between): the same bytes.
      expect(Buffer.from(patched!).equals(Buffer.from(full))).toBe(true);
      // A copy: the object's own bytes are left as they were.
      expect(elf.data(section)).toEqual(original);
      patchedFiles.push(name);
      if (!isDeepStrictEqual(typesOf(patched!), btf.types)) changed.push(name);
    });
  }

  it('took the patch for most objects, and patched something in several', () => {
    // Run after the cases above (vitest keeps the order): every little-endian object without extern sections.
    expect(patchedFiles.length).toBeGreaterThanOrEqual(8);
    expect(changed.length).toBeGreaterThanOrEqual(3);
  });
});
