// Node entry: sets up Dawn first (module order matters), then everything the browser entry has.
import './node_platform.js';

export * from './index.js';
