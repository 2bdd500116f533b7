import { InvalidArgumentError } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';
import { BtfKind, btfSizeOf, skipModifiers } from '@bpfkit/elf';
import type { Btf, ConstantValue, GlobalDataSpec } from '@bpfkit/elf';

const ZERO_KEY = new Uint8Array(4);

/**
 * One global variable of a loaded object (`.data`, `.bss`, `.rodata`…),
 * read and written through its section's map. Integers (by their BTF type)
 * read as bigint, anything else as bytes. A read-modify-write of one
 * variable is not atomic against a program writing the same section.
 *
 * @example
 * coll.variables.packets.get(); // 2n
 * coll.variables.enabled.set(true);
 */
export class CollectionVariable {
  readonly #map: Map;
  readonly #int: { signed: boolean } | undefined;

  constructor(
    readonly name: string,
    readonly section: string,
    readonly offset: number,
    readonly size: number,
    map: Map,
    int: { signed: boolean } | undefined,
  ) {
    this.#map = map;
    this.#int = int;
  }

  /** Whether programs and user space can only read it (`.rodata*`: frozen after load). */
  get readOnly(): boolean {
    return this.section.startsWith('.rodata');
  }

  /** The variable's bytes. */
  bytes(): Uint8Array {
    const value = this.#map.lookup(ZERO_KEY) as Uint8Array;
    return value.slice(this.offset, this.offset + this.size);
  }

  /** The value: a bigint for integer types (sign from BTF), bytes otherwise. */
  get(): bigint | Uint8Array {
    const b = this.bytes();
    if (!this.#int) return b;
    let v = 0n;
    for (let i = this.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return this.#int.signed ? BigInt.asIntN(this.size * 8, v) : v;
  }

  /** Writes the variable (integers range-checked; bytes of the exact size). */
  set(value: ConstantValue): void {
    if (this.readOnly) throw new InvalidArgumentError(`variable '${this.name}'`, 'a writable global (.data or .bss): .rodata is frozen once loaded', value);
    const bytes = encode(this.name, value, this.size, this.#int);
    const whole = this.#map.lookup(ZERO_KEY) as Uint8Array;
    whole.set(bytes, this.offset);
    this.#map.update(ZERO_KEY, whole);
  }
}

function encode(name: string, value: ConstantValue, size: number, int: { signed: boolean } | undefined): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== size) throw new InvalidArgumentError(`variable '${name}'`, `${size} bytes`, value);
    return value;
  }
  if (!int) throw new InvalidArgumentError(`variable '${name}'`, `${size} raw bytes (its type is not an integer)`, value);
  if (typeof value === 'number' && !Number.isInteger(value)) throw new InvalidArgumentError(`variable '${name}'`, 'an integer', value);
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  const bits = BigInt(size * 8);
  const min = int.signed ? -(1n << (bits - 1n)) : 0n;
  const max = int.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (n < min || n > max) throw new InvalidArgumentError(`variable '${name}'`, `an integer from ${min} to ${max}`, value);
  const out = new Uint8Array(size);
  let u = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}

/**
 * The named globals of an object's data sections as {@link CollectionVariable}s.
 *
 * @example
 * const vars = collectionVariables(spec.globals, spec.btf, coll.maps);
 */
export function collectionVariables(globals: Record<string, GlobalDataSpec>, btf: Btf | undefined, maps: Record<string, Map>): Record<string, CollectionVariable> {
  const out: Record<string, CollectionVariable> = {};
  for (const g of Object.values(globals)) {
    const map = maps[g.section];
    if (!map || !btf) continue;
    for (const v of g.variables) {
      const t = skipModifiers(btf, v.type);
      const isInt = (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) && btfSizeOf(btf, v.type) <= 8;
      const signed = t.kind === BtfKind.INT ? (t.int!.encoding & 1) === 1 : t.kindFlag;
      out[v.name] = new CollectionVariable(v.name, g.section, v.offset, v.size, map, isInt ? { signed } : undefined);
    }
  }
  return out;
}
