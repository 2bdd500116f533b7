export * from './enum.js';
export * from './map-type.js';
export * from './program-type.js';
export * from './attach-type.js';
export * from './link-type.js';
export * from './helper.js';
export * from './flags.js';
