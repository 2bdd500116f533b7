export { KernelProgram, loadKernelProgram, openPinnedProgram, openProgramById } from './program.js';
export type { LoadProgramOptions } from './program.js';
export { bootTimeMs, kernelProgramInfo, listPrograms, loadTimeToDate, openProgram, programInfo } from './list.js';
export { programInstructions } from './xlated.js';
export type { ProgramInstructions } from './xlated.js';
export { enableRunStats, RunStats } from './stats.js';
export { KernelLink, listLinks, openPinnedLink } from './link.js';
export { attachProgram } from './attach-program.js';
