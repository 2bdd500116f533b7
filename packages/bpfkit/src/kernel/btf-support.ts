import { BtfKind, encodeBtf } from '@bpfkit/elf';
import type { BtfSupport, BtfType } from '@bpfkit/elf';
import { btfLoad, native } from '@bpfkit/syscalls';

let cached: BtfSupport | undefined;

const int = (id: number): BtfType => ({
  id,
  kind: BtfKind.INT,
  name: 'int',
  sizeOrType: 4,
  vlen: 0,
  kindFlag: false,
  int: { encoding: 1, offset: 0, bits: 32 },
});

/** The smallest BTF using each feature: the kernel loads it only if it knows the feature. */
const PROBES: Record<keyof BtfSupport, BtfType[]> = {
  func: [
    int(1),
    { id: 2, kind: BtfKind.FUNC_PROTO, name: '', sizeOrType: 1, vlen: 0, kindFlag: false, params: [] },
    { id: 3, kind: BtfKind.FUNC, name: 'f', sizeOrType: 2, vlen: 0, kindFlag: false },
  ],
  funcGlobal: [
    int(1),
    { id: 2, kind: BtfKind.FUNC_PROTO, name: '', sizeOrType: 1, vlen: 0, kindFlag: false, params: [] },
    { id: 3, kind: BtfKind.FUNC, name: 'f', sizeOrType: 2, vlen: 1, kindFlag: false },
  ],
  datasec: [
    int(1),
    { id: 2, kind: BtfKind.VAR, name: 'x', sizeOrType: 1, vlen: 0, kindFlag: false, linkage: 1 },
    { id: 3, kind: BtfKind.DATASEC, name: '.data', sizeOrType: 4, vlen: 0, kindFlag: false, variables: [{ type: 2, offset: 0, size: 4 }] },
  ],
  float: [{ id: 1, kind: BtfKind.FLOAT, name: 'float', sizeOrType: 4, vlen: 0, kindFlag: false }],
  declTag: [
    int(1),
    { id: 2, kind: BtfKind.VAR, name: 'x', sizeOrType: 1, vlen: 0, kindFlag: false, linkage: 1 },
    { id: 3, kind: BtfKind.DECL_TAG, name: 'tag', sizeOrType: 2, vlen: 0, kindFlag: false, linkage: -1 },
  ],
  typeTag: [
    int(1),
    { id: 2, kind: BtfKind.TYPE_TAG, name: 'tag', sizeOrType: 1, vlen: 0, kindFlag: false },
    { id: 3, kind: BtfKind.PTR, name: '', sizeOrType: 2, vlen: 0, kindFlag: false },
  ],
  enum64: [
    { id: 1, kind: BtfKind.ENUM64, name: 'e', sizeOrType: 8, vlen: 0, kindFlag: false, enumerators: [{ name: 'A', value: 1n << 40n }] },
  ],
};

/** Whether the kernel loads `types`. */
export function kernelAcceptsBtf(types: BtfType[]): boolean {
  try {
    native.close(btfLoad(encodeBtf([{ id: 0, kind: BtfKind.UNKN, name: '', sizeOrType: 0, vlen: 0, kindFlag: false }, ...types])));
    return true;
  } catch {
    return false;
  }
}

/**
 * Which BTF kinds the running kernel accepts, each probed once, when first
 * asked, by loading the smallest BTF that uses it (the object's BTF is
 * sanitised for the rest). Asked lazily, an object pays only for the kinds
 * it has: most never have FLOAT, DECL_TAG, TYPE_TAG or ENUM64.
 *
 * @example
 * if (!kernelBtfSupport().declTag) console.log('kernel older than 5.16');
 */
export function kernelBtfSupport(): BtfSupport {
  if (cached) return cached;
  const answers: Partial<BtfSupport> = {};
  const out = {} as BtfSupport;
  for (const key of Object.keys(PROBES) as (keyof BtfSupport)[]) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => {
        answers[key] ??= kernelAcceptsBtf(PROBES[key]);
        return answers[key];
      },
    });
  }
  cached = out;
  return out;
}
