#!/usr/bin/env node
import { runCli } from './cli/main.js';
import { isTerminal, StdioWriter } from './cli/stdio.js';

// A reader that goes away (`bpfkit disasm x.o | head`) is not an error: stop quietly, as other Unix tools do.
const stopQuietly = (): never => process.exit(process.exitCode ?? 0);
const out = new StdioWriter(1, () => process.stdout, stopQuietly);
const err = new StdioWriter(2, () => process.stderr, stopQuietly);

// Progress of long work goes to a terminal only, on one line it rewrites (and clears at the end).
const progress = isTerminal(2)
  ? (s: string | undefined) =>
      process.stderr.write(s === undefined ? '\r\x1b[K' : `\r\x1b[K${s.slice(0, (process.stderr.columns ?? 80) - 1)}`)
  : undefined;

// No top-level await: the bin runs this bundled as CommonJS (see scripts/cli-launcher.cjs).
void runCli(process.argv.slice(2), {
  out: (s) => out.write(`${s}\n`),
  err: (s) => err.write(`${s}\n`),
  ...(progress ? { progress } : {}),
}).then((code) => {
  // Exit at once rather than let the event loop drain: a command is over when runCli answers, and Node.js
  // would then tear its heap down page by page (5-8 ms of `bpfkit obj load` here). Only when everything
  // written has gone out (a write that would have blocked queues the rest in the stream); 'exit'
  // listeners still run.
  if (!out.pending && !err.pending) process.exit(code);
  process.exitCode = code;
});
