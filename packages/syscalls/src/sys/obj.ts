/**
 * Typed wrappers for object commands: pin, get, ids, fd by id, info by fd.
 *
 * @module
 */
import { Errno, MapFlags } from '@bpfkit/core';
import { BpfCommand } from '../commands.js';
import type { EncodedStruct } from '../attr/layout.js';
import { encodeObjAttr } from '../attr/obj.js';
import {
  GET_FD_BY_ID_COMMAND,
  GET_NEXT_ID_COMMAND,
  encodeGetFdByIdAttr,
  encodeGetNextIdAttr,
  getNextIdLayout,
  type ObjectKind,
} from '../attr/id.js';
import { encodeObjGetInfoAttr, objGetInfoLayout } from '../attr/info.js';
import { MAP_INFO_SIZE, decodeMapInfo, encodeMapInfoRequest, type BpfMapInfo } from '../info/map-info.js';
import { PROG_INFO_SIZE, decodeProgInfo, encodeProgInfoRequest, type BpfProgInfo, type ProgInfoRequest } from '../info/prog-info.js';
import { LINK_INFO_SIZE, decodeLinkInfo, encodeLinkInfoRequest, type BpfLinkInfo, type LinkInfoFields } from '../info/link-info.js';
import { BTF_INFO_SIZE, decodeBtfInfo, encodeBtfInfoRequest, type BpfBtfInfo } from '../info/btf-info.js';
import { TOKEN_INFO_SIZE, decodeTokenInfo, type BpfTokenInfo } from '../info/token-info.js';
import { bpfError, callBpf, resolveNestedPointers, tryBpf, type BpfCallContext } from './call.js';
import { native } from '../native.js';

/** Options of {@link objPin} / {@link objGet}. */
export interface ObjPathOptions {
  /** Directory fd the path is relative to (sets BPF_F_PATH_FD; 6.5). */
  pathFd?: number;
  /** `file_flags`: BPF_F_RDONLY / BPF_F_WRONLY for objGet. */
  fileFlags?: number;
}

function pathFields(opts: ObjPathOptions): { fileFlags: number; pathFd?: number } {
  if (opts.pathFd === undefined) return { fileFlags: opts.fileFlags ?? 0 };
  return { fileFlags: (opts.fileFlags ?? 0) | MapFlags.PATH_FD, pathFd: opts.pathFd };
}

/**
 * BPF_OBJ_PIN: pins a map, program, link or BTF object at a bpffs path.
 *
 * @throws BpfError EEXIST when the path exists, ENOENT / EPERM when it is not in a bpffs
 * @example
 * objPin('/sys/fs/bpf/counts', mapFd);
 */
export function objPin(path: string, fd: number, opts: ObjPathOptions = {}, ctx: BpfCallContext = {}): void {
  callBpf(BpfCommand.BPF_OBJ_PIN, encodeObjAttr({ pathname: path, bpfFd: fd, ...pathFields(opts) }), {
    subject: ctx.subject ?? `pin '${path}'`,
    hint: ctx.hint,
  });
}

/**
 * BPF_OBJ_GET: opens a pinned object; returns a new fd.
 *
 * @example
 * const fd = objGet('/sys/fs/bpf/counts', { fileFlags: MapFlags.RDONLY });
 */
export function objGet(path: string, opts: ObjPathOptions = {}, ctx: BpfCallContext = {}): number {
  return callBpf(BpfCommand.BPF_OBJ_GET, encodeObjAttr({ pathname: path, ...pathFields(opts) }), {
    subject: ctx.subject ?? `open pinned '${path}'`,
    hint: ctx.hint,
  });
}

/**
 * BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID: the next id after `startId`, or
 * undefined when there are no more.
 *
 * @example
 * for (let id = getNextId('map', 0); id !== undefined; id = getNextId('map', id)) console.log(id);
 */
export function getNextId(kind: ObjectKind, startId: number, ctx?: BpfCallContext): number | undefined {
  const cmd = GET_NEXT_ID_COMMAND[kind];
  const enc = encodeGetNextIdAttr({ startId });
  const r = tryBpf(cmd, enc);
  if (r >= 0) return getNextIdLayout.read(enc.attr, 'nextId');
  if (-r === Errno.ENOENT) return undefined;
  throw bpfError(cmd, -r, ctx);
}

/**
 * Walks every object of a kind (BPF_*_GET_NEXT_ID), opens each by id and
 * calls `read` with its fd, which is closed afterwards. Objects that vanish
 * during the walk (ENOENT) or that this process may not open (EPERM) are
 * skipped.
 *
 * @throws BpfError EPERM when this process may not walk the ids at all
 * @example
 * const names = readEachById('prog', (fd) => progInfoByFd(fd).name);
 */
export function readEachById<T>(kind: ObjectKind, read: (fd: number, id: number) => T): T[] {
  const out: T[] = [];
  const ctx = { subject: `list ${kind}s` };
  for (let id = getNextId(kind, 0, ctx); id !== undefined; id = getNextId(kind, id, ctx)) {
    const r = tryBpf(GET_FD_BY_ID_COMMAND[kind], encodeGetFdByIdAttr({ id }));
    if (r === -Errno.ENOENT || r === -Errno.EPERM) continue;
    if (r < 0) throw bpfError(GET_FD_BY_ID_COMMAND[kind], -r, { subject: `${kind} id ${id}` });
    try {
      out.push(read(r, id));
    } finally {
      native.close(r);
    }
  }
  return out;
}

/** Options of {@link getFdById}. */
export interface GetFdByIdOptions {
  /** `open_flags`: BPF_F_RDONLY / BPF_F_WRONLY for maps. */
  openFlags?: number;
  /** BPF token fd (BTF only, 6.15; sets BPF_F_TOKEN_FD). */
  tokenFd?: number;
}

/**
 * BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID: opens an object by id; returns a new fd.
 *
 * @throws BpfError ENOENT when no such object exists
 * @example
 * const fd = getFdById('prog', 42);
 */
export function getFdById(kind: ObjectKind, id: number, opts: GetFdByIdOptions = {}, ctx: BpfCallContext = {}): number {
  const openFlags = opts.tokenFd === undefined ? opts.openFlags : (opts.openFlags ?? 0) | MapFlags.TOKEN_FD;
  return callBpf(GET_FD_BY_ID_COMMAND[kind], encodeGetFdByIdAttr({ id, openFlags, fdByIdTokenFd: opts.tokenFd }), {
    subject: ctx.subject ?? `${kind} id ${id}`,
    hint: ctx.hint,
  });
}

/**
 * BPF_OBJ_GET_INFO_BY_FD: fills `info` (a plain buffer, or an encoded info
 * request whose pointer fields name further buffers) and returns the number
 * of bytes the kernel wrote.
 *
 * @example
 * const buf = new Uint8Array(MAP_INFO_SIZE);
 * objGetInfoByFd(mapFd, buf);
 * decodeMapInfo(buf).name;
 */
export function objGetInfoByFd(fd: number, info: Uint8Array | EncodedStruct, ctx?: BpfCallContext): number {
  let bytes: Uint8Array;
  if (info instanceof Uint8Array) bytes = info;
  else {
    resolveNestedPointers(info);
    bytes = info.bytes;
  }
  const enc = encodeObjGetInfoAttr({ bpfFd: fd, info: bytes });
  callBpf(BpfCommand.BPF_OBJ_GET_INFO_BY_FD, enc, ctx);
  return objGetInfoLayout.read(enc.attr, 'infoLen');
}

/**
 * The `struct bpf_map_info` of a map fd.
 *
 * @example
 * const { type, keySize, valueSize, maxEntries, name } = mapInfoByFd(fd);
 */
export function mapInfoByFd(fd: number, req?: { hash?: Uint8Array }, ctx?: BpfCallContext): BpfMapInfo {
  const info = req ? encodeMapInfoRequest(req) : new Uint8Array(MAP_INFO_SIZE);
  objGetInfoByFd(fd, info, ctx);
  return decodeMapInfo(info instanceof Uint8Array ? info : info.bytes);
}

/**
 * The `struct bpf_prog_info` of a program fd; `req` names buffers for the
 * arrays (map ids, instructions…), e.g. sized from a first call with
 * {@link allocProgInfoRequest}.
 *
 * @example
 * const first = progInfoByFd(fd);
 * const req = allocProgInfoRequest(first, ['mapIds']);
 * progInfoByFd(fd, req);
 * readU32Array(req.mapIds!);
 */
export function progInfoByFd(fd: number, req?: ProgInfoRequest, ctx?: BpfCallContext): BpfProgInfo {
  const info = req ? encodeProgInfoRequest(req) : new Uint8Array(PROG_INFO_SIZE);
  objGetInfoByFd(fd, info, ctx);
  return decodeProgInfo(info instanceof Uint8Array ? info : info.bytes);
}

/**
 * The `struct bpf_link_info` of a link fd, decoded by link kind; `req`
 * names buffers for names and arrays of the (known) link kind.
 *
 * @example
 * const info = linkInfoByFd(linkFd);
 * if (info.kind === 'xdp') console.log(info.xdp.ifindex);
 */
export function linkInfoByFd(fd: number, req?: LinkInfoFields, ctx?: BpfCallContext): BpfLinkInfo {
  const info = req ? encodeLinkInfoRequest(req) : new Uint8Array(LINK_INFO_SIZE);
  objGetInfoByFd(fd, info, ctx);
  return decodeLinkInfo(info instanceof Uint8Array ? info : info.bytes);
}

/**
 * The `struct bpf_btf_info` of a BTF fd; `req` names buffers for the raw
 * BTF and the name.
 *
 * @example
 * const name = new Uint8Array(64);
 * const { id, kernelBtf } = btfInfoByFd(btfFd, { name });
 */
export function btfInfoByFd(fd: number, req?: { btf?: Uint8Array; name?: Uint8Array }, ctx?: BpfCallContext): BpfBtfInfo {
  const info = req ? encodeBtfInfoRequest(req) : new Uint8Array(BTF_INFO_SIZE);
  objGetInfoByFd(fd, info, ctx);
  return decodeBtfInfo(info instanceof Uint8Array ? info : info.bytes);
}

/**
 * The `struct bpf_token_info` of a BPF token fd (6.17).
 *
 * @example
 * const tokenFd = tokenCreate(fs.openSync('/sys/fs/bpf', 'r'));
 * const { allowedCmds } = tokenInfoByFd(tokenFd);
 */
export function tokenInfoByFd(fd: number, ctx?: BpfCallContext): BpfTokenInfo {
  const info = new Uint8Array(TOKEN_INFO_SIZE);
  objGetInfoByFd(fd, info, ctx);
  return decodeTokenInfo(info);
}
