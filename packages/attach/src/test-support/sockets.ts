/**
 * Sockets, counters and hand-assembled programs for the socket hook tests
 * (socket filters, reuseport, sockmaps, sk_lookup, netfilter, cgroups).
 * Test-only.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { MapType } from '@bpfkit/core';
import type { Map as BpfMap, ProgramSpec } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { closeFd, mapCreate, mapLookupElem, mapUpdateElem, native } from '@bpfkit/syscalls';
import { type KernelProgram, loadKernelProgram } from '../program.js';

const LE = os.endianness() === 'LE';
const c = native.constants;

/** Assembles and loads a program (GPL, so every helper is allowed). */
export function load(name: string, type: number, source: string, extra: Partial<ProgramSpec> = {}): KernelProgram {
  return loadKernelProgram({ name, type, instructions: assemble(source, LE), license: 'GPL', ...extra });
}

/** An array map of u64 counters, `slots` long. */
export function counters(slots = 1, name = 'counts') {
  const fd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: slots, mapName: name });
  const value = new Uint8Array(8);
  return {
    fd,
    read(slot = 0): bigint {
      mapLookupElem(fd, u32(slot), value);
      return new DataView(value.buffer).getBigUint64(0, LE);
    },
    [Symbol.dispose]() {
      closeFd(fd);
    },
  };
}

/** `counts[slot] += 1` for the counter map `mapFd`, as assembly; clobbers r0-r5. Jumps to `done` when the lookup fails. */
export function countAsm(mapFd: number, slot: number | 'r7', done: string): string {
  return `
    lddw %r1, map_fd ${mapFd}
    ${slot === 'r7' ? 'stxw [%r10-4], %r7' : `stw [%r10-4], ${slot}`}
    mov %r2, %r10
    add %r2, -4
    call bpf_map_lookup_elem
    jeq %r0, 0, ${done}
    mov %r1, 1
    lock add [%r0+0], %r1`;
}

/** A u32 in host byte order. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, LE);
  return b;
}

/** A socket map (SOCKMAP, SOCKHASH, REUSEPORT_SOCKARRAY) of u32 keys and u64 socket fd values, as far as the attach code reads a Map. */
export function socketMap(type: number, maxEntries: number, name = 'socks') {
  const fd = mapCreate({ mapType: type, keySize: 4, valueSize: 8, maxEntries, mapName: name });
  let closed = false;
  const map = {
    name,
    type,
    fd,
    keySize: 4,
    valueSize: 8,
    maxEntries,
    flags: 0,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      closeFd(fd);
    },
  };
  return {
    fd,
    /** The map as the `Map` of a target (only name, type, fd and closed are read by the attach code). */
    map: map as unknown as BpfMap<unknown, unknown>,
    set(slot: number, socketFd: number) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigUint64(0, BigInt(socketFd), LE);
      mapUpdateElem(fd, u32(slot), v);
    },
    close: () => map.close(),
    [Symbol.dispose]: () => map.close(),
  };
}

/** `struct sockaddr_in` for an IPv4 address and port. */
function sockaddrIn(address: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, c.AF_INET ?? 2, LE);
  v.setUint16(2, port, false);
  address.split('.').forEach((part, i) => {
    b[4 + i] = Number(part);
  });
  return b;
}

/** A UDP socket of the addon (so a test can set options Node lacks), bound to `address:port`; `recv()` reads what is queued without waiting. */
export function udpSocket(options: { address?: string; port?: number; reuseport?: boolean } = {}) {
  const fd = native.socket(c.AF_INET ?? 2, c.SOCK_DGRAM ?? 2, 0);
  if (fd < 0) throw new Error(`socket: errno ${-fd}`);
  try {
    if (options.reuseport) {
      const rc = native.setsockopt(fd, c.SOL_SOCKET ?? 1, c.SO_REUSEPORT ?? 15, u32(1));
      if (rc < 0) throw new Error(`SO_REUSEPORT: errno ${-rc}`);
    }
    const address = options.address ?? '127.0.0.1';
    const rc = native.bind(fd, sockaddrIn(address, options.port ?? 0));
    if (rc < 0) throw new Error(`bind ${address}:${options.port ?? 0}: errno ${-rc}`);
    const name = new Uint8Array(16);
    if (native.getsockname(fd, name) < 0) throw new Error('getsockname failed');
    const port = new DataView(name.buffer).getUint16(2, false);
    const buffer = new Uint8Array(65536);
    return {
      fd,
      port,
      address,
      /** Every datagram queued now, as its length. */
      recv(): number[] {
        const out: number[] = [];
        for (;;) {
          const n = native.recv(fd, buffer, c.MSG_DONTWAIT ?? 64);
          if (n < 0) break;
          out.push(n);
        }
        return out;
      },
      close() {
        native.close(fd);
      },
      [Symbol.dispose]() {
        native.close(fd);
      },
    };
  } catch (err) {
    native.close(fd);
    throw err;
  }
}

/** Sends datagrams of the given sizes to `address:port` from one Node socket (or one socket per datagram), in order. */
export async function sendDatagrams(
  port: number,
  sizes: readonly number[],
  options: { address?: string; socketEach?: boolean } = {},
): Promise<void> {
  const address = options.address ?? '127.0.0.1';
  let socket: dgram.Socket | undefined;
  for (const size of sizes) {
    socket ??= dgram.createSocket('udp4');
    const s = socket;
    await new Promise<void>((resolve, reject) => s.send(Buffer.alloc(size, 0x61), port, address, (err) => (err ? reject(err) : resolve())));
    if (options.socketEach) {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      socket = undefined;
    }
  }
  if (socket) {
    const s = socket;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Polls `done` every few milliseconds until it is true or `timeoutMs` passed; returns its last answer. */
export async function eventually(done: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
