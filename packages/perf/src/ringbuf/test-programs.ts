/**
 * Hand-assembled test programs for the ring buffer tests: a socket filter,
 * run with BPF_PROG_TEST_RUN, that emits one record per run as a parameter
 * map says. Test-only.
 */
import os from 'node:os';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { closeFd, mapCreate, mapUpdateElem, progLoad, progTestRun } from '@bpfkit/syscalls';

const LE = os.endianness() === 'LE';

type Item = InstructionFields & { jumpTo?: string };
const I = (opcode: number, f: Partial<InstructionFields> = {}, jumpTo?: string): Item => ({
  opcode,
  dst: 0,
  src: 0,
  offset: 0,
  imm: 0,
  ...f,
  ...(jumpTo ? { jumpTo } : {}),
});

/** Assembles items and labels (strings); jumps name their label. ld_imm64 (0x18) takes two slots. */
export function assemble(items: ReadonlyArray<Item | string>): Uint8Array {
  const at = new Map<string, number>();
  let slot = 0;
  for (const it of items) {
    if (typeof it === 'string') at.set(it, slot);
    else slot += it.opcode === 0x18 ? 2 : 1;
  }
  const out: InstructionFields[] = [];
  slot = 0;
  for (const it of items) {
    if (typeof it === 'string') continue;
    const { jumpTo, ...fields } = it;
    if (jumpTo !== undefined) {
      const target = at.get(jumpTo);
      if (target === undefined) throw new Error(`no label ${jumpTo}`);
      fields.offset = target - slot - 1;
    }
    out.push(fields);
    slot += it.opcode === 0x18 ? 2 : 1;
  }
  return encodeInstructions(out, LE);
}

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
