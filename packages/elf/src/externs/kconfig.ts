import { InvalidArgumentError } from '@bpfkit/core';
import { BtfKind } from '../btf/kinds.js';
import type { Btf } from '../btf/parse.js';
import { btfSizeOf, skipModifiers } from '../maps/btf-maps.js';

/**
 * Parses a kernel config (`/proc/config.gz` unpacked, or `/boot/config-*`):
 * `CONFIG_X=value` lines, and `# CONFIG_X is not set` as `n`. Values keep
 * their text (strings with their quotes).
 *
 * @example
 * parseKernelConfig('CONFIG_BPF=y\n# CONFIG_KPROBES is not set\n').get('CONFIG_KPROBES'); // 'n'
 */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      out.set(unset[1]!, 'n');
      continue;
    }
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set) out.set(set[1]!, set[2]!);
  }
  return out;
}

/** How a `__kconfig` extern's C type takes a value. */
type KconfigShape = 'bool' | 'tristate' | 'char' | 'int' | 'string';

function shapeOf(btf: Btf, typeId: number, name: string): { shape: KconfigShape; size: number; signed: boolean } {
  const t = skipModifiers(btf, typeId);
  const size = btfSizeOf(btf, typeId);
  if (t.kind === BtfKind.ENUM && t.name === 'libbpf_tristate') return { shape: 'tristate', size, signed: false };
  if (t.kind === BtfKind.INT) {
    const encoding = t.int!.encoding;
    if (encoding & 4) return { shape: 'bool', size, signed: false };
    if (encoding & 2 || (size === 1 && t.name === 'char')) return { shape: 'char', size, signed: false };
    return { shape: 'int', size, signed: (encoding & 1) === 1 };
  }
  if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return { shape: 'int', size, signed: t.kindFlag };
  if (t.kind === BtfKind.ARRAY) {
    const elem = skipModifiers(btf, t.array!.type);
    if (elem.kind === BtfKind.INT && btfSizeOf(btf, t.array!.type) === 1) return { shape: 'string', size, signed: false };
  }
  throw new InvalidArgumentError(
    `kconfig extern '${name}'`,
    'a bool, char, integer, enum libbpf_tristate or char array',
    t.name || `kind ${t.kind}`,
  );
}

/**
 * Encodes a kernel config value for a `__kconfig` extern of the given BTF
 * type, as libbpf does: `y`/`n` for bool, `y`/`n`/`m` for `enum
 * libbpf_tristate` (1, 0, 2) and for `char`, numbers (decimal, `0x` hex or
 * octal) for integers, quoted strings for char arrays (truncated to fit,
 * always NUL-terminated).
 *
 * @example
 * const b = new BtfBuilder();
 * const boolTypeId = b.addIntEncoded('_Bool', 1, 4);
 * encodeKconfigValue(parseBtf(b.encode()), boolTypeId, 'CONFIG_BPF', 'y', true); // Uint8Array [1]
 */
export function encodeKconfigValue(btf: Btf, typeId: number, name: string, value: string, littleEndian: boolean): Uint8Array {
  const { shape, size, signed } = shapeOf(btf, typeId, name);
  const out = new Uint8Array(size);
  const bad = (expected: string): never => {
    throw new InvalidArgumentError(`kconfig extern '${name}'`, expected, value);
  };
  const tri = value === 'y' ? 1n : value === 'n' ? 0n : value === 'm' ? 2n : undefined;
  let n: bigint;
  switch (shape) {
    case 'bool':
      if (value !== 'y' && value !== 'n') bad(`y or n for a bool (a module option '${value}' needs enum libbpf_tristate)`);
      n = value === 'y' ? 1n : 0n;
      break;
    case 'tristate':
      if (tri === undefined) bad('y, n or m for enum libbpf_tristate');
      n = tri!;
      break;
    case 'char':
      if (value.length !== 1) bad('a single character (y, n or m) for a char');
      n = BigInt(value.charCodeAt(0));
      break;
    case 'string': {
      if (!/^".*"$/.test(value)) bad('a quoted string for a char array');
      const bytes = new TextEncoder().encode(value.slice(1, -1));
      out.set(bytes.subarray(0, size - 1));
      return out;
    }
    case 'int': {
      if (tri !== undefined) bad('a number for an integer (y, n and m need bool, char or enum libbpf_tristate)');
      const text = value.trim();
      const neg = text.startsWith('-');
      const digits = neg ? text.slice(1) : text;
      if (!/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(digits)) bad('a number for an integer');
      const magnitude = digits.startsWith('0x')
        ? BigInt(digits)
        : digits.length > 1 && digits.startsWith('0')
          ? BigInt(`0o${digits.slice(1)}`)
          : BigInt(digits);
      n = neg ? -magnitude : magnitude;
      const bits = BigInt(size * 8);
      const min = signed ? -(1n << (bits - 1n)) : 0n;
      const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
      if (n < min || n > max) bad(`a value from ${min} to ${max} (${size} bytes)`);
      break;
    }
  }
  let u = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++) {
    out[littleEndian ? i : size - 1 - i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}
