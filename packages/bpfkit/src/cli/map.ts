import { BpfError, Errno, InvalidArgumentError, mapTypeName } from '@bpfkit/core';
import type { Map, MapInfo, UpdateFlag } from '@bpfkit/core';
import { listMaps, openMapById, openPinnedMap } from '@bpfkit/maps';
import { textTable } from '../features/format.js';
import type { CliIo, ParsedArgs } from './main.js';
import { textFormat } from './value-format.js';

/** Opens the map a CLI argument names: a numeric id or a pin path. */
function openRef(ref: string | undefined): Map {
  if (!ref) throw new InvalidArgumentError('map', 'a map id or a pin path', ref);
  if (/^\d+$/.test(ref)) return openMapById(Number(ref));
  if (ref.startsWith('/')) return openPinnedMap(ref);
  throw new InvalidArgumentError('map', 'a map id (digits) or an absolute pin path', ref);
}

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

function infoRow(i: MapInfo): string[] {
  return [
    String(i.id),
    mapTypeName(i.type),
    i.name,
    String(i.keySize),
    String(i.valueSize),
    String(i.maxEntries),
    `0x${i.flags.toString(16)}`,
  ];
}

const INFO_HEADER = ['id', 'type', 'name', 'key', 'value', 'max entries', 'flags'];

/**
 * `bpfkit map list|show|dump|lookup|update|delete`: maps by id or pin path.
 *
 * @example
 * import { parseArgs } from './main.js';
 * runMapCommand(parseArgs(['dump', '42', '--key', 'u32', '--value', 'u64']), io);
 */
export function runMapCommand(args: ParsedArgs, io: CliIo): number {
  const [sub, ref, ...rest] = args.positional;
  const asJson = args.flags.has('json');
  switch (sub) {
    case 'list': {
      const maps = listMaps();
      io.out(asJson ? json(maps) : textTable(INFO_HEADER, maps.map(infoRow)));
      return 0;
    }
    case 'show': {
      using m = openRef(ref);
      const info = m.info();
      io.out(
        asJson ? json(info) : `${textTable(INFO_HEADER, [infoRow(info)])}\nfrozen: ${info.frozen ? 'yes' : 'no'}  btf id: ${info.btfId}`,
      );
      return 0;
    }
    case 'dump': {
      using m = openRef(ref);
      const key = textFormat(args.options.key, m.keySize);
      const value = valuePrinter(m, args.options.value);
      const rows: [string, string][] = [];
      for (const [k, v] of m.entries()) rows.push([key.print(k), value(v)]);
      if (asJson) io.out(json(rows.map(([k, v]) => ({ key: k, value: v }))));
      else {
        io.out(textTable(['key', 'value'], rows));
        io.out(`${rows.length} entries${m.lastIteration.aborted ? ' (walk aborted: the map kept changing)' : ''}`);
      }
      return 0;
    }
    case 'lookup': {
      using m = openRef(ref);
      const k = textFormat(args.options.key, m.keySize).parse(need(rest[0], 'key'), m.keySize);
      const v = m.lookup(k);
      if (v === undefined) {
        io.err(`bpfkit map lookup: key not found`);
        return 1;
      }
      const printed = valuePrinter(m, args.options.value)(v);
      io.out(asJson ? json({ value: printed }) : printed);
      return 0;
    }
    case 'update': {
      using m = openRef(ref);
      const k = textFormat(args.options.key, m.keySize).parse(need(rest[0], 'key'), m.keySize);
      const v = textFormat(args.options.value, m.valueSize).parse(need(rest[1], 'value'), m.valueSize);
      const flag = (args.options.flag ?? 'any') as UpdateFlag;
      m.update(k, v, flag);
      return 0;
    }
    case 'delete': {
      using m = openRef(ref);
      const k = textFormat(args.options.key, m.keySize).parse(need(rest[0], 'key'), m.keySize);
      if (!m.delete(k))
        throw new BpfError(Errno.ENOENT, { syscall: 'bpf', command: 'BPF_MAP_DELETE_ELEM', hint: 'the key is not in the map' });
      return 0;
    }
    default:
      throw new InvalidArgumentError('map command', 'one of list, show, dump, lookup, update, delete', sub);
  }
}

/** Prints values in the chosen format; per-CPU values (one slot per CPU, larger than valueSize) print as hex. */
function valuePrinter(m: Map, format: string | undefined): (v: Uint8Array) => string {
  const typed = textFormat(format, m.valueSize);
  const hex = textFormat('hex', 0);
  return (v) => (v.byteLength === m.valueSize ? typed.print(v) : hex.print(v));
}

function need(v: string | undefined, what: string): string {
  if (v === undefined) throw new InvalidArgumentError(what, `a ${what} argument`, v);
  return v;
}
