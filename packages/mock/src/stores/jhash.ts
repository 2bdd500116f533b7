/**
 * Bob Jenkins' lookup3 hash as the Linux kernel's `jhash()` and `jhash2()`
 * compute it (include/linux/jhash.h): the bloom filter uses it, so a mock
 * filter created with BPF_F_ZERO_SEED sets the same bits as the kernel's.
 * All arithmetic is on u32.
 */

const JHASH_INITVAL = 0xdeadbeef;

const rol32 = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

interface State {
  a: number;
  b: number;
  c: number;
}

function mix(s: State): void {
  let { a, b, c } = s;
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 4)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 6)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 8)) >>> 0;
  b = (b + a) >>> 0;
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 16)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 19)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 4)) >>> 0;
  b = (b + a) >>> 0;
  s.a = a;
  s.b = b;
  s.c = c;
}

function final(s: State): void {
  let { a, b, c } = s;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rol32(b, 24)) >>> 0;
  s.a = a;
  s.b = b;
  s.c = c;
}

/** A u32 of four bytes in the machine's order (the kernel reads `u32` words of the key in place). */
function word(bytes: Uint8Array, offset: number, little: boolean): number {
  return little
    ? (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0
    : ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/**
 * The kernel's `jhash(key, length, initval)` over the bytes of `key`.
 *
 * @example
 * jhash(new Uint8Array([1, 2, 3]), 0);
 */
export function jhash(key: Uint8Array, initval: number, little = true): number {
  let length = key.length;
  const s: State = { a: 0, b: 0, c: 0 };
  s.a = s.b = s.c = (JHASH_INITVAL + length + initval) >>> 0;
  let k = 0;
  while (length > 12) {
    s.a = (s.a + word(key, k, little)) >>> 0;
    s.b = (s.b + word(key, k + 4, little)) >>> 0;
    s.c = (s.c + word(key, k + 8, little)) >>> 0;
    mix(s);
    length -= 12;
    k += 12;
  }
  if (length === 0) return s.c;
  // The last 1..12 bytes, as individual bytes (the same on every byte order).
  const at = (i: number): number => key[k + i]!;
  if (length >= 12) s.c = (s.c + ((at(11) << 24) >>> 0)) >>> 0;
  if (length >= 11) s.c = (s.c + (at(10) << 16)) >>> 0;
  if (length >= 10) s.c = (s.c + (at(9) << 8)) >>> 0;
  if (length >= 9) s.c = (s.c + at(8)) >>> 0;
  if (length >= 8) s.b = (s.b + ((at(7) << 24) >>> 0)) >>> 0;
  if (length >= 7) s.b = (s.b + (at(6) << 16)) >>> 0;
  if (length >= 6) s.b = (s.b + (at(5) << 8)) >>> 0;
  if (length >= 5) s.b = (s.b + at(4)) >>> 0;
  if (length >= 4) s.a = (s.a + ((at(3) << 24) >>> 0)) >>> 0;
  if (length >= 3) s.a = (s.a + (at(2) << 16)) >>> 0;
  if (length >= 2) s.a = (s.a + (at(1) << 8)) >>> 0;
  s.a = (s.a + at(0)) >>> 0;
  final(s);
  return s.c;
}

/**
 * The kernel's `jhash2(words, count, initval)` over `count` u32 words of
 * `key` read in the machine's byte order.
 *
 * @example
 * jhash2(new Uint8Array(8), 2, 0);
 */
export function jhash2(key: Uint8Array, count: number, initval: number, little = true): number {
  let length = count;
  const s: State = { a: 0, b: 0, c: 0 };
  s.a = s.b = s.c = (JHASH_INITVAL + (length << 2) + initval) >>> 0;
  let k = 0;
  while (length > 3) {
    s.a = (s.a + word(key, k, little)) >>> 0;
    s.b = (s.b + word(key, k + 4, little)) >>> 0;
    s.c = (s.c + word(key, k + 8, little)) >>> 0;
    mix(s);
    length -= 3;
    k += 12;
  }
  if (length === 0) return s.c;
  if (length >= 3) s.c = (s.c + word(key, k + 8, little)) >>> 0;
  if (length >= 2) s.b = (s.b + word(key, k + 4, little)) >>> 0;
  s.a = (s.a + word(key, k, little)) >>> 0;
  final(s);
  return s.c;
}
