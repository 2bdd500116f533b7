#!/usr/bin/env node
import { runCli } from './cli/main.js';

// A reader that goes away (`bpfkit disasm x.o | head`) is not an error: stop quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// Progress of long work goes to a terminal only, on one line it rewrites (and clears at the end).
const progress = process.stderr.isTTY
  ? (s: string | undefined) =>
      process.stderr.write(s === undefined ? '\r\x1b[K' : `\r\x1b[K${s.slice(0, (process.stderr.columns ?? 80) - 1)}`)
  : undefined;

// No top-level await: the bin runs this bundled as CommonJS (see scripts/cli-launcher.cjs).
void runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  ...(progress ? { progress } : {}),
}).then((code) => {
  // Exit at once rather than let the event loop drain: a command is over when runCli answers, and Node.js
  // would then tear its heap down page by page (5-8 ms of `bpfkit obj load` here). Only when everything
  // written has gone out: a pipe takes 64 KiB before its writes queue (and process.exit would drop them).
  // 'exit' listeners still run.
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
  process.exitCode = code;
});
