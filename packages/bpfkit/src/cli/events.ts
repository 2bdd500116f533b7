/**
 * `bpfkit events <map id|pin>`: prints the records of a ring buffer or
 * perf event array as they arrive — hex, or decoded by a BTF type.
 *
 * @module
 */
import fs from 'node:fs';
import { InvalidArgumentError, MapType } from '@bpfkit/core';
import type { Codec, Map } from '@bpfkit/core';
import { listPrograms } from '@bpfkit/attach';
import { btfCodec, parseBtf, readObject } from '@bpfkit/elf';
import type { Btf, BtfValue } from '@bpfkit/elf';
import { openMapById, openPinnedMap } from '@bpfkit/maps';
import { btfInfoByFd, getFdById, native } from '@bpfkit/syscalls';
import { NativeSystem } from '../native-system.js';
import { interruption } from './interrupt.js';
import type { CliIo, ParsedArgs } from './main.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function openMap(ref: string | undefined): Map {
  if (ref !== undefined && /^\d+$/.test(ref)) return openMapById(Number(ref));
  if (ref?.startsWith('/')) return openPinnedMap(ref);
  throw new InvalidArgumentError('map', 'a map id (digits) or an absolute pin path', ref);
}

/** The raw BTF the kernel holds under `id`. */
function btfById(id: number): Btf {
  const fd = getFdById('btf', id, {}, { subject: `BTF id ${id}` });
  try {
    const size = btfInfoByFd(fd).btfSize ?? 0;
    const bytes = new Uint8Array(size);
    btfInfoByFd(fd, { btf: bytes });
    return parseBtf(bytes);
  } finally {
    native.close(fd);
  }
}

/**
 * The BTF to decode a map's records with: `--btf <object or BTF file>`, else
 * the map's own, else that of a loaded program using the map (a ring
 * buffer has no value type, but the programs writing it carry the
 * object's BTF).
 */
function btfFor(map: Map, file: string | undefined): Btf {
  if (file !== undefined) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
    const btf = isElf ? readObject(bytes).btf : parseBtf(bytes);
    if (!btf) throw new InvalidArgumentError('--btf', 'an object compiled with -g (it has no .BTF), or a raw BTF file', file);
    return btf;
  }
  const info = map.info();
  if (info.btfId) return btfById(info.btfId);
  const user = listPrograms().find((p) => p.mapIds.includes(info.id) && p.btfId);
  if (user) return btfById(user.btfId);
  throw new InvalidArgumentError(
    '--btf-type',
    'a map whose BTF the kernel knows (its own, or a loaded program using it); or name the object with --btf <file.o>',
    `map id ${info.id} without BTF`,
  );
}

/** Runs `bpfkit events`; resolves the exit code after `--count` records or an interrupt. */
export async function runEventsCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [ref, extra] = args.positional;
  if (extra !== undefined) throw new InvalidArgumentError('events', 'one map (id or pin path)', args.positional.join(' '));
  const count = args.options.count === undefined ? undefined : Number(args.options.count);
  if (count !== undefined && (!Number.isInteger(count) || count <= 0))
    throw new InvalidArgumentError('--count', 'a positive number of records', args.options.count);
  using map = openMap(ref);
  if (map.type !== MapType.RINGBUF && map.type !== MapType.PERF_EVENT_ARRAY)
    throw new InvalidArgumentError('events: map', 'a ring buffer or perf event array map', `map '${map.name}' (type ${map.type})`);
  const typeName = args.options['btf-type'];
  const codec: Codec<BtfValue> | undefined = typeName === undefined ? undefined : btfCodec(btfFor(map, args.options.btf), typeName);
  using system = new NativeSystem();
  using reader = map.type === MapType.RINGBUF ? system.openRingBuffer(map) : system.openPerfEventArray(map);
  const asJson = args.flags.has('json');
  let seen = 0;
  let done: () => void = () => {};
  const finished = new Promise<string>((resolve) => {
    done = () => resolve('count');
  });
  const stop = reader.subscribe(
    (record, source) => {
      if (count !== undefined && seen >= count) return;
      seen++;
      const value = codec ? decodeSafely(codec, record) : undefined;
      const where = source.cpu === undefined ? {} : { cpu: source.cpu };
      if (asJson)
        io.out(json({ map: source.map, ...where, size: record.byteLength, ...(value !== undefined ? { value } : { data: hex(record) }) }));
      else
        io.out(
          `${source.cpu === undefined ? '' : `cpu ${source.cpu} `}${record.byteLength} bytes: ${value !== undefined ? json(value) : hex(record)}`,
        );
      if (count !== undefined && seen >= count) done();
    },
    {
      onLost: (lost, source) =>
        asJson ? io.out(json({ map: source.map, cpu: source.cpu, lost })) : io.out(`cpu ${source.cpu}: ${lost} records lost`),
      onError: (error) => io.err(`bpfkit events: ${error.message}`),
    },
  );
  try {
    await Promise.race([finished, interruption(io)]);
  } finally {
    stop();
  }
  const s = reader.stats();
  if (!asJson) io.err(`bpfkit events: ${s.received} records, ${s.bytes} bytes, ${s.lost} lost, ${s.discarded} discarded`);
  return 0;
}

/** A record too short for the type prints as an error value rather than ending the command. */
function decodeSafely(codec: Codec<BtfValue>, record: Uint8Array): BtfValue {
  try {
    return codec.decode(record);
  } catch (err) {
    return { error: (err as Error).message };
  }
}
