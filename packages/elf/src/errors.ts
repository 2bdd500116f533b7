/**
 * Malformed input to a parser of `@bpfkit/elf`: says what was being read,
 * where, and what was wrong.
 *
 * @example
 * try { parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux')); } catch (err) { if (err instanceof ParseError) console.error(err.message); }
 */
export class ParseError extends Error {
  override readonly name: string = 'ParseError';
  /** What was being parsed, e.g. `'BTF'`. */
  readonly format: string;
  /** Byte offset of the problem, when known. */
  readonly offset: number | undefined;

  constructor(format: string, message: string, offset?: number) {
    super(`${format}: ${message}${offset === undefined ? '' : ` (at byte ${offset})`}`);
    this.format = format;
    this.offset = offset;
  }
}
