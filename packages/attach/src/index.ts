export { KernelProgram, loadKernelProgram, openPinnedProgram, openProgramById } from './program.js';
export type { LoadProgramOptions } from './program.js';
