export * from './handshake-messages.js';
export * from './frames.js';
export * from './inventory.js';
