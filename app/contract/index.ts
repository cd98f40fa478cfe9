export * from './methods.js';
export * from './results.js';
export * from './wire.js';
export * from './bridge.js';
export * from './run-results.js';
export * from './jobs.js';
