/**
 * Iterator links and their output: each run is a fresh iterator
 * (BPF_ITER_CREATE) whose file the program's `bpf_seq_write` /
 * `bpf_seq_printf` output is read from.
 *
 * @module
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { BpfError, Errno, InvalidArgumentError, OwnedHandle } from '@bpfkit/core';
import { iterCreate, native } from '@bpfkit/syscalls';
import { KernelLink } from './link.js';

/** How much one read(2) of an iterator asks for. The kernel fills up to this (its seq_file buffer grows as needed). */
const CHUNK_SIZE = 64 * 1024;

/** One run of an iterator: the fd BPF_ITER_CREATE returned, closed when done or when garbage-collected. */
class IteratorRun extends OwnedHandle {
  readonly fd: number;

  constructor(fd: number, label: string) {
    super(label, () => native.close(fd));
    this.fd = fd;
  }

  /** A read(2) error as a BpfError naming the iterator. */
  error(err: unknown): unknown {
    const errno = (err as NodeJS.ErrnoException | undefined)?.errno;
    if (typeof errno !== 'number') return err;
    return new BpfError(Math.abs(errno), {
      syscall: 'read',
      subject: this.label,
      hint:
        Math.abs(errno) === Errno.E2BIG
          ? 'the program wrote more for one object than the seq_file buffer holds'
          : Math.abs(errno) === Errno.EAGAIN
            ? 'the iterator asked to be read again (a program returning 1 restarts the object)'
            : undefined,
    });
  }

  readSync(buffer: Buffer): number {
    this.assertOpen();
    try {
      // position null: read(2), not pread(2), which iterator files refuse.
      return fs.readSync(this.fd, buffer, 0, buffer.byteLength, null);
    } catch (err) {
      throw this.error(err);
    }
  }

  read(buffer: Buffer): Promise<number> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      fs.read(this.fd, buffer, 0, buffer.byteLength, null, (err, n) => (err ? reject(this.error(err)) : resolve(n)));
    });
  }
}

/**
 * An iterator link (BPF_TRACE_ITER): every read runs the iterator anew
 * and gives what its program wrote, as bytes, text or a stream of chunks.
 * The link itself only holds the program and its parameters (the map,
 * cgroup or task it walks); reading needs no other handle.
 *
 * @example
 * using link = prog.attach({ kind: 'iter', task: { pid: process.pid } }) as IterLink;
 * link.text();                                   // the whole output, decoded as UTF-8
 * for await (const chunk of link) process.stdout.write(chunk);
 */
export class IterLink extends KernelLink implements AsyncIterable<Uint8Array> {
  /** A fresh iterator: its own fd, reading from the first object. */
  #run(): IteratorRun {
    this.assertOpen();
    const fd = iterCreate(this.fd, 0, { subject: `${this.label}: run` });
    return new IteratorRun(fd, `iterator of ${this.label}`);
  }

  /**
   * Runs the iterator to its end and returns everything it wrote.
   *
   * @example
   * declare const link: IterLink;
   * const bytes = link.read(); // e.g. one u32 per task
   */
  read(): Uint8Array {
    using run = this.#run();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
      const n = run.readSync(buffer);
      if (n === 0) break;
      chunks.push(buffer.subarray(0, n));
      total += n;
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  }

  /**
   * Runs the iterator to its end and decodes its output as UTF-8 (for
   * programs that write text, with `bpf_seq_printf`).
   *
   * @example
   * declare const link: IterLink;
   * link.text().split('\n');
   */
  text(): string {
    return new TextDecoder().decode(this.read());
  }

  /**
   * Runs the iterator and yields its output as it is read, chunk by chunk,
   * without blocking the event loop (the reads run on libuv's thread pool).
   * The iterator's fd is closed when the loop ends, breaks or throws.
   *
   * @example
   * declare const link: IterLink, sink: NodeJS.WritableStream;
   * for await (const chunk of link.chunks()) sink.write(chunk);
   */
  async *chunks(chunkSize = CHUNK_SIZE): AsyncGenerator<Uint8Array, void, undefined> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new InvalidArgumentError(`${this.label}: chunk size`, 'a positive integer (bytes)', chunkSize);
    using run = this.#run();
    for (;;) {
      const buffer = Buffer.allocUnsafe(chunkSize);
      const n = await run.read(buffer);
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  }

  /** `for await (const chunk of link)`: {@link chunks}. */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return this.chunks();
  }

  /**
   * One run of the iterator as a Node byte stream.
   *
   * @example
   * declare const link: IterLink;
   * link.stream().pipe(process.stdout);
   */
  stream(): Readable {
    // node:stream loaded here, not at import: it is some twenty modules, ~5 ms of a process's start.
    // (process.getBuiltinModule came with Node.js 20.16.)
    const { Readable } = (process.getBuiltinModule?.('node:stream') ??
      createRequire(import.meta.url)('node:stream')) as typeof import('node:stream');
    return Readable.from(this.chunks(), { objectMode: false });
  }
}
