// bpfkit-load <obj.o>: the twin of libbpf-load.c — load a BPF object with bpfkit as its tool's
// user space would before attaching: maps whose size the tool sets at run time (max_entries 0,
// stack_trace value_size 0) get the same sizes libbpf-load gives them, and each program that
// fails (the kernel refuses it, or its attach target is missing here) is left out and the rest
// loaded again. Prints 'loaded <name> <tag>' / 'skipped <name>: <why>'.
// Part of scripts/real-world-objects.sh (BPFKIT_INDEX overrides the built bpfkit it imports).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const index = process.env.BPFKIT_INDEX ?? path.join(path.dirname(new URL(import.meta.url).pathname), '../../packages/bpfkit/dist/index.js');
const { readObject, loadCollection, MapType } = await import(pathToFileURL(index).href);

const file = process.argv[2];
if (!file) {
  console.error('usage: bpfkit-load <obj.o>');
  process.exit(2);
}
const spec = readObject(readFileSync(file));
for (const m of Object.values(spec.maps)) {
  if (m.type === MapType.STACK_TRACE && m.valueSize === 0) m.valueSize = 127 * 8;
  if (m.maxEntries === 0 && m.type !== MapType.PERF_EVENT_ARRAY) m.maxEntries = m.type === MapType.RINGBUF ? 256 * 1024 : 1024;
}
const skipped = new Set();
for (;;) {
  const programs = Object.keys(spec.programs).filter((p) => !skipped.has(p));
  if (programs.length === 0) {
    console.log('nothing left to load');
    process.exit(1);
  }
  let coll;
  try {
    coll = loadCollection(spec, { ignorePinning: true, programs });
  } catch (err) {
    const failed = err.program ?? /program '([^']+)'/.exec(String(err.message))?.[1];
    if (failed === undefined || skipped.has(failed) || !programs.includes(failed)) {
      console.log(`object failed: ${err.message}`);
      process.exit(2);
    }
    console.log(`skipped ${failed}: ${String(err.message).split('\n')[0]}`);
    skipped.add(failed);
    continue;
  }
  for (const p of programs) console.log(`loaded ${p} ${coll.programs[p].info().tag}`);
  coll.close();
  process.exit(skipped.size ? 1 : 0);
}
