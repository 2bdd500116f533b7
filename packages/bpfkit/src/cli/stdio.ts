/**
 * Output of the `bpfkit` command without Node.js's stream machinery:
 * `process.stdout` and `process.stderr` load some twenty modules of streams
 * the first time they are touched, ~5 ms of every run. A line goes straight
 * to the file descriptor with a synchronous write; the stream is used only
 * when the descriptor cannot take it now (a non-blocking pipe that is full:
 * the stream queues the rest and writes it as the reader drains it).
 *
 * @module
 */
import fs from 'node:fs';

/** What {@link StdioWriter} falls back to: `process.stdout` or `process.stderr`. */
export interface QueueingStream {
  write(chunk: Uint8Array | string): unknown;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  readonly writableLength: number;
}

/** An output descriptor (1 or 2), written directly until a write would block. */
export class StdioWriter {
  #stream: QueueingStream | undefined;

  /**
   * @param fd the descriptor, 1 or 2
   * @param stream `process.stdout` or `process.stderr` for it, reached only when a write would block
   * @param onClosedReader called when the reader went away (EPIPE), as a Unix tool stops quietly
   */
  constructor(
    readonly fd: number,
    readonly stream: () => QueueingStream,
    readonly onClosedReader: () => never,
  ) {}

  /**
   * Writes `text` whole, in order with every earlier write.
   *
   * @example
   * const out = new StdioWriter(1, () => process.stdout, () => process.exit(0));
   * out.write('hello\n');
   */
  write(text: string): void {
    if (this.#stream !== undefined) {
      this.#stream.write(text);
      return;
    }
    const bytes = Buffer.from(text);
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') this.onClosedReader();
      if (code !== 'EAGAIN') throw err;
      this.#stream = this.stream();
      this.#stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') this.onClosedReader();
        throw e;
      });
      this.#stream.write(bytes.subarray(done));
    }
  }

  /** Whether bytes wait in the stream (after a write that would have blocked). */
  get pending(): boolean {
    return this.#stream !== undefined && this.#stream.writableLength > 0;
  }
}

/**
 * Whether `fd` is a terminal, from its device number (Linux's: virtual
 * consoles and serial lines are major 4, /dev/tty and /dev/console 5,
 * pseudo-terminals 136-143), without loading `node:tty` and with it the
 * streams.
 *
 * @example
 * if (isTerminal(2)) console.error('progress lines go here');
 */
export function isTerminal(fd: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    if (!st.isCharacterDevice()) return false;
    const major = Math.floor(st.rdev / 256) & 0xfff;
    return major === 4 || major === 5 || (major >= 136 && major <= 143);
  } catch {
    return false;
  }
}
