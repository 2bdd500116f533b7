import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTerminal, type QueueingStream, StdioWriter } from './stdio.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-stdio-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Both ends of a new FIFO (a pipe, 64 KiB), non-blocking. */
function nonBlockingFifo(): { reader: number; writer: number } {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return { reader, writer: fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK) };
}

const never = (): never => {
  throw new Error('the reader went away');
};

/** A stream that keeps what it is given. */
function keeper(): QueueingStream & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    write: (chunk) => chunks.push(Buffer.from(chunk)),
    on: () => undefined,
    get writableLength() {
      return chunks.reduce((n, c) => n + c.length, 0);
    },
  };
}

describe('StdioWriter', () => {
  it('writes straight to the descriptor, without the stream', () => {
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    try {
      const stream = keeper();
      let asked = 0;
      const w = new StdioWriter(
        fd,
        () => {
          asked++;
          return stream;
        },
        never,
      );
      w.write('one\n');
      w.write('twö\n');
      expect(fs.readFileSync(file, 'utf8')).toBe('one\ntwö\n');
      expect(asked).toBe(0);
      expect(w.pending).toBe(false);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('hands the rest to the stream when a non-blocking pipe is full, losing and repeating nothing', () => {
    const { reader, writer } = nonBlockingFifo();
    try {
      const stream = keeper();
      const w = new StdioWriter(writer, () => stream, never);
      const lines = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(40)}\n`);
      for (const line of lines) w.write(line);
      expect(w.pending).toBe(true);
      const piped: Buffer[] = [];
      const chunk = Buffer.alloc(65536);
      for (;;) {
        let n = 0;
        try {
          n = fs.readSync(reader, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
        if (n <= 0) break;
        piped.push(Buffer.from(chunk.subarray(0, n)));
      }
      const whole = Buffer.concat([...piped, ...stream.chunks]).toString();
      expect(piped.length).toBeGreaterThan(0);
      expect(stream.chunks.length).toBeGreaterThan(0);
      expect(whole).toBe(lines.join(''));
    } finally {
      fs.closeSync(writer);
      fs.closeSync(reader);
    }
  });

  it('stops quietly when the reader went away', () => {
    const { reader, writer } = nonBlockingFifo();
    fs.closeSync(reader);
    try {
      class Stopped extends Error {}
      const w = new StdioWriter(writer, keeper, () => {
        throw new Stopped();
      });
      expect(() => w.write('x\n')).toThrow(Stopped);
    } finally {
      fs.closeSync(writer);
    }
  });
});

describe('isTerminal', () => {
  it('says no for files, pipes and /dev/null, and for a closed descriptor', () => {
    const fd = fs.openSync(path.join(dir, 'f'), 'w');
    const nul = fs.openSync('/dev/null', 'w');
    try {
      expect(isTerminal(fd)).toBe(false);
      expect(isTerminal(nul)).toBe(false);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(nul);
    }
    expect(isTerminal(fd)).toBe(false);
  });

  it.skipIf(!fs.existsSync('/dev/ptmx'))('says yes for a pseudo-terminal', () => {
    // /dev/ptmx is the pseudo-terminal multiplexer: major 5, a terminal device.
    const fd = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    try {
      expect(isTerminal(fd)).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });
});
