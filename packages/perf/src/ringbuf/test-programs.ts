/**
 * Hand-assembled test programs for the ring buffer tests: a socket filter,
 * run with BPF_PROG_TEST_RUN, that emits one record per run as a parameter
 * map says. Test-only.
 */
import os from 'node:os';
import { assembleItems as assemble, I } from '@bpfkit/elf/testing';
import { btfLoad, closeFd, mapCreate, mapLookupElem, mapUpdateElem, progLoad, progTestRun } from '@bpfkit/syscalls';

const LE = os.endianness() === 'LE';

/** Largest record the emitter writes. */
export const MAX_RECORD = 4096;
const PARAM_SIZE = 8 + MAX_RECORD;

/**
 * A program that reads `{ u32 size; u32 mode; u8 payload[4096] }` from slot
 * 0 of an array map and, per run, calls bpf_ringbuf_output(ring, payload,
 * size, 0) (mode 0) or bpf_ringbuf_reserve(ring, 64, 0) and
 * bpf_ringbuf_discard (mode 1).
 */
export class RecordEmitter implements Disposable {
  readonly paramFd: number;
  readonly progFd: number;
  readonly #param = new Uint8Array(PARAM_SIZE);
  readonly #key = new Uint8Array(4);
  readonly #packet = new Uint8Array(64);

  constructor(ringFd: number) {
    this.paramFd = mapCreate({ mapType: 2, keySize: 4, valueSize: PARAM_SIZE, maxEntries: 1, mapName: 'rb_params' });
    const insns = assemble([
      I(0x18, { dst: 1, src: 1, imm: this.paramFd }),
      I(0x62, { dst: 10, offset: -4, imm: 0 }),
      I(0xbf, { dst: 2, src: 10 }),
      I(0x07, { dst: 2, imm: -4 }),
      I(0x85, { imm: 1 }), // bpf_map_lookup_elem
      I(0x15, { dst: 0 }, 'out'),
      I(0xbf, { dst: 6, src: 0 }),
      I(0x61, { dst: 7, src: 6, offset: 0 }), // r7 = size
      I(0x61, { dst: 8, src: 6, offset: 4 }), // r8 = mode
      I(0x25, { dst: 7, imm: MAX_RECORD }, 'out'), // if size > MAX goto out
      I(0x15, { dst: 8, imm: 1 }, 'discard'),
      I(0x18, { dst: 1, src: 1, imm: ringFd }),
      I(0xbf, { dst: 2, src: 6 }),
      I(0x07, { dst: 2, imm: 8 }),
      I(0xbf, { dst: 3, src: 7 }),
      I(0xb7, { dst: 4, imm: 0 }),
      I(0x85, { imm: 130 }), // bpf_ringbuf_output
      I(0x05, {}, 'out'),
      'discard',
      I(0x18, { dst: 1, src: 1, imm: ringFd }),
      I(0xb7, { dst: 2, imm: 64 }),
      I(0xb7, { dst: 3, imm: 0 }),
      I(0x85, { imm: 131 }), // bpf_ringbuf_reserve
      I(0x15, { dst: 0 }, 'out'),
      I(0xbf, { dst: 1, src: 0 }),
      I(0xb7, { dst: 2, imm: 0 }),
      I(0x85, { imm: 133 }), // bpf_ringbuf_discard
      'out',
      I(0xb7, { dst: 0, imm: 0 }),
      I(0x95),
    ]);
    try {
      this.progFd = progLoad({ progType: 1, insns, license: 'GPL', progName: 'rb_emit' }, new Uint8Array(65536));
    } catch (e) {
      closeFd(this.paramFd);
      throw e;
    }
  }

  #run(size: number, mode: number, payload?: Uint8Array, repeat = 1): void {
    const v = new DataView(this.#param.buffer);
    v.setUint32(0, size, LE);
    v.setUint32(4, mode, LE);
    if (payload) this.#param.set(payload, 8);
    mapUpdateElem(this.paramFd, this.#key, this.#param);
    progTestRun({ progFd: this.progFd, dataIn: this.#packet, repeat });
  }

  /** Emits one record holding `payload` (`repeat` times). */
  emit(payload: Uint8Array, repeat = 1): void {
    this.#run(payload.byteLength, 0, payload, repeat);
  }

  /** Reserves 64 bytes and discards them. */
  discard(): void {
    this.#run(0, 1);
  }

  [Symbol.dispose](): void {
    closeFd(this.progFd);
    closeFd(this.paramFd);
  }
}

/**
 * A program that, per run, reserves a record of `size` bytes with
 * bpf_ringbuf_reserve, writes `MARK` in its first 8 bytes (the rest is
 * whatever the ring held) and submits it: pushes gigabytes through a ring
 * in a few hundred test runs.
 */
export class BigRecordEmitter implements Disposable {
  static readonly MARK = 0x5a;
  readonly progFd: number;
  readonly #packet = new Uint8Array(64);

  constructor(ringFd: number, size: number) {
    const insns = assemble([
      I(0x18, { dst: 1, src: 1, imm: ringFd }),
      I(0xb7, { dst: 2, imm: size }),
      I(0xb7, { dst: 3, imm: 0 }),
      I(0x85, { imm: 131 }), // bpf_ringbuf_reserve
      I(0x15, { dst: 0 }, 'out'),
      I(0xb7, { dst: 1, imm: BigRecordEmitter.MARK }),
      I(0x7b, { dst: 0, src: 1, offset: 0 }),
      I(0xbf, { dst: 1, src: 0 }),
      I(0xb7, { dst: 2, imm: 0 }),
      I(0x85, { imm: 132 }), // bpf_ringbuf_submit
      'out',
      I(0xb7, { dst: 0, imm: 0 }),
      I(0x95),
    ]);
    this.progFd = progLoad({ progType: 1, insns, license: 'GPL', progName: 'rb_big' }, new Uint8Array(65536));
  }

  /** Emits `repeat` records. */
  emit(repeat: number): void {
    progTestRun({ progFd: this.progFd, dataIn: this.#packet, repeat });
  }

  [Symbol.dispose](): void {
    closeFd(this.progFd);
  }
}

/** The payload of record `seq`: `size` bytes, seq in the first 4 (when they fit), then a pattern. */
export function payloadOf(seq: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seq * 31 + i * 7) & 0xff;
  if (size >= 4) new DataView(p.buffer).setUint32(0, seq, true);
  return p;
}

/** Creates a ring buffer map of `size` bytes. */
export function createRing(size: number, name = 'rb_test', type = 27): number {
  return mapCreate({ mapType: type, keySize: 0, valueSize: 0, maxEntries: size, mapName: name });
}

/**
 * A socket filter that drains a user ring buffer with
 * bpf_user_ringbuf_drain (helper 209): its callback reads each sample's
 * first u32 (bpf_dynptr_read, helper 201) and adds it to slot 0 of an
 * array map of u64, and one to slot 1. The run's retval is what the
 * helper returned: the samples drained (or -errno).
 */
export class UserRingDrainer implements Disposable {
  readonly resultFd: number;
  readonly progFd: number;
  readonly #packet = new Uint8Array(64);

  constructor(userRingFd: number) {
    this.resultFd = mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 2, mapName: 'urb_sum' });
    const insns = assemble([
      I(0x18, { dst: 1, src: 1, imm: userRingFd }),
      I(0x18, { dst: 2, src: 4, funcTo: 'callback' }), // BPF_PSEUDO_FUNC
      I(0xb7, { dst: 3, imm: 0 }),
      I(0xb7, { dst: 4, imm: 0 }),
      I(0x85, { imm: 209 }), // bpf_user_ringbuf_drain
      I(0x95),
      'callback',
      I(0xbf, { dst: 6, src: 1 }), // r6 = dynptr
      I(0x18, { dst: 1, src: 1, imm: this.resultFd }),
      I(0x62, { dst: 10, offset: -4, imm: 0 }),
      I(0xbf, { dst: 2, src: 10 }),
      I(0x07, { dst: 2, imm: -4 }),
      I(0x85, { imm: 1 }), // bpf_map_lookup_elem(result, 0)
      I(0x15, { dst: 0 }, 'ret'),
      I(0xbf, { dst: 7, src: 0 }),
      I(0x18, { dst: 1, src: 1, imm: this.resultFd }),
      I(0x62, { dst: 10, offset: -4, imm: 1 }),
      I(0xbf, { dst: 2, src: 10 }),
      I(0x07, { dst: 2, imm: -4 }),
      I(0x85, { imm: 1 }), // bpf_map_lookup_elem(result, 1)
      I(0x15, { dst: 0 }, 'ret'),
      I(0xbf, { dst: 8, src: 0 }),
      I(0xb7, { dst: 1, imm: 1 }),
      I(0xdb, { dst: 8, src: 1 }), // lock *(u64 *)(r8) += 1
      I(0xbf, { dst: 1, src: 10 }),
      I(0x07, { dst: 1, imm: -16 }),
      I(0xb7, { dst: 2, imm: 4 }),
      I(0xbf, { dst: 3, src: 6 }),
      I(0xb7, { dst: 4, imm: 0 }),
      I(0xb7, { dst: 5, imm: 0 }),
      I(0x85, { imm: 201 }), // bpf_dynptr_read(r10 - 16, 4, dynptr, 0, 0)
      I(0x55, { dst: 0, imm: 0 }, 'ret'),
      I(0x61, { dst: 1, src: 10, offset: -16 }),
      I(0xdb, { dst: 7, src: 1 }), // lock *(u64 *)(r7) += first u32
      'ret',
      I(0xb7, { dst: 0, imm: 0 }),
      I(0x95),
    ]);
    // A program with a callback subprogram needs BTF func_info: main and callback as static functions.
    const callbackAt = 8; // instruction index of 'callback' (the two ld_imm64 take two slots each)
    let btfFd = -1;
    try {
      btfFd = btfLoad(minimalFuncBtf());
      const funcInfo = new Uint8Array(16);
      const v = new DataView(funcInfo.buffer);
      v.setUint32(0, 0, LE);
      v.setUint32(4, 4, LE); // main: FUNC type 4
      v.setUint32(8, callbackAt, LE);
      v.setUint32(12, 6, LE); // callback: FUNC type 6
      this.progFd = progLoad(
        { progType: 1, insns, license: 'GPL', progName: 'urb_drain', progBtfFd: btfFd, funcInfo, funcInfoRecSize: 8, funcInfoCnt: 2 },
        new Uint8Array(1 << 16),
      );
    } catch (e) {
      closeFd(this.resultFd);
      throw e;
    } finally {
      if (btfFd >= 0) closeFd(btfFd);
    }
  }

  /** Runs the program once; returns bpf_user_ringbuf_drain's result. */
  drain(): number {
    return progTestRun({ progFd: this.progFd, dataIn: this.#packet }).retval | 0;
  }

  /** [sum of first u32s, samples seen]. */
  totals(): [bigint, bigint] {
    const value = new Uint8Array(8);
    const out: bigint[] = [];
    for (const k of [0, 1]) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, k, LE);
      mapLookupElem(this.resultFd, key, value);
      out.push(new DataView(value.buffer).getBigUint64(0, LE));
    }
    return [out[0]!, out[1]!];
  }

  [Symbol.dispose](): void {
    closeFd(this.progFd);
    closeFd(this.resultFd);
  }
}

/**
 * BTF with: 1 int, 2 void *, 3 int (void *ctx), 4 static FUNC main,
 * 5 int (void *dynptr, void *ctx), 6 static FUNC cb.
 */
function minimalFuncBtf(): Uint8Array {
  const strings = '\0int\0ctx\0main\0cb\0dynptr\0';
  const off = (name: string) => strings.indexOf(`\0${name}\0`) + 1;
  const words: number[] = [
    off('int'),
    0x0100_0000,
    4,
    0x0100_0020, // 1: INT int, 4 bytes, signed, 32 bits
    0,
    0x0200_0000,
    0, // 2: PTR -> void
    0,
    0x0d00_0001,
    1,
    off('ctx'),
    2, // 3: FUNC_PROTO int (void *ctx)
    off('main'),
    0x0c00_0000,
    3, // 4: FUNC main, static
    0,
    0x0d00_0002,
    1,
    off('dynptr'),
    2,
    off('ctx'),
    2, // 5: FUNC_PROTO int (void *dynptr, void *ctx)
    off('cb'),
    0x0c00_0000,
    5, // 6: FUNC cb, static
  ];
  const typeLen = words.length * 4;
  const strBytes = new TextEncoder().encode(strings);
  const out = new Uint8Array(24 + typeLen + strBytes.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, LE);
  v.setUint8(2, 1);
  v.setUint8(3, 0);
  v.setUint32(4, 24, LE);
  v.setUint32(8, 0, LE);
  v.setUint32(12, typeLen, LE);
  v.setUint32(16, typeLen, LE);
  v.setUint32(20, strBytes.length, LE);
  for (const [i, w] of words.entries()) v.setUint32(24 + i * 4, w, LE);
  out.set(strBytes, 24 + typeLen);
  return out;
}
