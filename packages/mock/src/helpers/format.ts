/**
 * The format language of `bpf_trace_printk`, `bpf_snprintf` and
 * `bpf_seq_printf` (the kernel's bpf_bprintf_prepare, then vsnprintf):
 * `%d %i %u %x %X` (32-bit, or 64-bit with `l`/`ll`), `%c`, `%s`, `%%`,
 * flags `- + space 0 #`, a width and a precision, and the pointer forms
 * `%p %px %pK` (the address; the kernel hashes `%p`), `%pks %pus` (a
 * string), `%pI4 %pi4 %pI6 %pi6` (an address read from memory), `%pB %pS`
 * (a symbol: the address here). Anything else is a format error, as the
 * kernel's -EINVAL.
 */

/** Reads what a `%s` or `%pI4` argument points to (undefined: unreadable). */
export interface FormatMemory {
  string(pointer: bigint): string | undefined;
  bytes(pointer: bigint, size: number): Uint8Array | undefined;
}

/** A format the kernel refuses (the helper returns -EINVAL). */
export class FormatError extends Error {
  override readonly name: string = 'FormatError';
}

const SPEC = /%([-+ 0#]*)(\d*)(?:\.(\d*))?(ll|l)?([diuxXcsp%])/y;

/**
 * Formats `fmt` with `args` (one u64 each conversion takes).
 *
 * @throws FormatError for a conversion the kernel does not take, or more
 *   conversions than `args`
 * @example
 * formatBpf('pid %d comm %s', [42n, 0x10n], { string: () => 'node', bytes: () => undefined }); // 'pid 42 comm node'
 */
export function formatBpf(fmt: string, args: readonly bigint[], memory: FormatMemory): string {
  let out = '';
  let next = 0;
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    SPEC.lastIndex = i;
    const m = SPEC.exec(fmt);
    if (!m) throw new FormatError(`unsupported conversion at "${fmt.slice(i, i + 4)}"`);
    const [whole, flags = '', width = '', precision, length, conv] = m;
    i += whole.length;
    if (conv === '%') {
      out += '%';
      continue;
    }
    if (next >= args.length) throw new FormatError(`the format has more conversions than the ${args.length} argument(s)`);
    const arg = args[next++]!;
    let text: string;
    let numeric = true;
    let negative = false;
    if (conv === 'p') {
      const pm = /^(x|K|ks|us|I4|i4|I6|i6|B|S|s)?/.exec(fmt.slice(i))![1] ?? '';
      i += pm.length;
      numeric = false;
      text = formatPointer(pm, arg, memory);
    } else if (conv === 's') {
      numeric = false;
      text = memory.string(arg) ?? '';
    } else if (conv === 'c') {
      numeric = false;
      text = String.fromCharCode(Number(arg & 0xffn));
    } else {
      const wide = length !== undefined;
      const v = wide ? BigInt.asUintN(64, arg) : arg & 0xffffffffn;
      if (conv === 'd' || conv === 'i') {
        const s = wide ? BigInt.asIntN(64, v) : BigInt.asIntN(32, v);
        negative = s < 0n;
        text = (negative ? -s : s).toString();
      } else if (conv === 'u') {
        text = v.toString();
      } else {
        text = v.toString(16);
        if (conv === 'X') text = text.toUpperCase();
      }
      if (precision !== undefined) {
        const p = Number(precision || '0');
        if (p === 0 && text === '0') text = '';
        text = text.padStart(p, '0');
      }
      if (flags.includes('#') && (conv === 'x' || conv === 'X') && v !== 0n) text = (conv === 'x' ? '0x' : '0X') + text;
      const sign = negative
        ? '-'
        : (conv === 'd' || conv === 'i') && flags.includes('+')
          ? '+'
          : (conv === 'd' || conv === 'i') && flags.includes(' ')
            ? ' '
            : '';
      text = pad(sign, text, Number(width || '0'), flags, precision === undefined);
      out += text;
      continue;
    }
    if (precision !== undefined && !numeric) text = text.slice(0, Number(precision || '0'));
    out += pad('', text, Number(width || '0'), flags.replace('0', ''), false);
  }
  return out;
}

function pad(sign: string, body: string, width: number, flags: string, zeroAllowed: boolean): string {
  const len = sign.length + body.length;
  if (len >= width) return sign + body;
  if (flags.includes('-')) return sign + body + ' '.repeat(width - len);
  if (flags.includes('0') && zeroAllowed) return sign + '0'.repeat(width - len) + body;
  return ' '.repeat(width - len) + sign + body;
}

function formatPointer(variant: string, arg: bigint, memory: FormatMemory): string {
  const hex = BigInt.asUintN(64, arg).toString(16).padStart(16, '0');
  switch (variant) {
    case 'ks':
    case 'us':
    case 's':
      return memory.string(arg) ?? '';
    case 'I4':
    case 'i4': {
      const b = memory.bytes(arg, 4);
      if (!b) return '(efault)';
      return [...b].map((x) => (variant === 'i4' ? String(x).padStart(3, '0') : String(x))).join('.');
    }
    case 'I6':
    case 'i6': {
      const b = memory.bytes(arg, 16);
      if (!b) return '(efault)';
      const groups: string[] = [];
      for (let k = 0; k < 16; k += 2) groups.push(((b[k]! << 8) | b[k + 1]!).toString(16).padStart(4, '0'));
      return groups.join(variant === 'I6' ? ':' : '');
    }
    default:
      // %p, %px, %pK, %pB, %pS: the address (the kernel hashes %p and resolves %pB/%pS to symbols).
      return variant === '' || variant === 'x' || variant === 'K' ? hex : `0x${BigInt.asUintN(64, arg).toString(16)}`;
  }
}
