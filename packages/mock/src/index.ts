export { MockSystem } from './mock-system.js';
export { MockMap, MockMapStore, MOCK_MAP_TYPES } from './mock-map.js';
export { MockKernel } from './mock-kernel.js';
