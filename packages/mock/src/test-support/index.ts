// `@bpfkit/mock/testing`: what the test suites of other packages share with the mock's own.
export { RANDOM_PROGRAM_PACKET, randomMapProgram, randomProgram, runRandomProgram, seededRandom } from '../vm/random-programs.js';
export type { RandomProgramMaps } from '../vm/random-programs.js';
export { assembleWithMaps, ldMapFd, markMapFds } from './map-asm.js';
