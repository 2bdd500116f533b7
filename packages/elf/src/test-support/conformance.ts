// The vendored eBPF conformance suite (vendor/bpf-conformance, bpf_conformance by Alan Jowett, MIT):
// reading its test files' sections, for the assembler's tests and the mock VM's (which read the files).

/** The `-- name` sections of a test file, each with its text. */
export function conformanceSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^-- (.+?)\s*$/.exec(line);
    if (m !== null) {
      current = m[1] ?? '';
      out.set(current, '');
    } else if (current !== undefined) {
      out.set(current, `${out.get(current) ?? ''}${line}\n`);
    }
  }
  return out;
}

/** A `-- raw` section's 64-bit instruction words as little-endian bytes. */
export function conformanceRaw(raw: string): Uint8Array {
  const words = raw
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
  const out = new Uint8Array(words.length * 8);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => {
    view.setBigUint64(i * 8, BigInt(w), true);
  });
  return out;
}

/** A `-- mem` section's hex bytes. */
export function conformanceMem(text: string): Uint8Array {
  const hex = text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  return Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));
}
