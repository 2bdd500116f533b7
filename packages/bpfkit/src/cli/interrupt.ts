import type { CliIo } from './main.js';

/**
 * Waits until the user interrupts: `io.interrupted`, or else SIGINT or
 * SIGTERM, which then neither kill the process nor reach other handlers'
 * defaults while this waits (a timer keeps the process alive meanwhile).
 *
 * @example
 * const signal = await interruption(io); // 'SIGINT' after Ctrl-C
 */
export function interruption(io: CliIo): Promise<string> {
  if (io.interrupted) return io.interrupted;
  return new Promise((resolve) => {
    // Signal handlers alone do not keep Node's event loop running.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const on = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
