// `@bpfkit/elf/testing`: what the test suites of other packages share with elf's own.
export { CONFORMANCE_DIR, conformanceMem, conformancePrograms, conformanceRaw, conformanceSections } from './conformance.js';
