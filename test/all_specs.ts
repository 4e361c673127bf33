// Every spec file of ours; shared by the Node and browser entries.
import './backend.spec.js';
import './fusion.spec.js';
import './arena.spec.js';
import './codegen.spec.js';
import './elementwise.spec.js';
import './shape.spec.js';
import './array.spec.js';
import './reduction.spec.js';
import './matmul.spec.js';
import './conv.spec.js';
import './depthwise.spec.js';
import './pool.spec.js';
import './batchnorm.spec.js';
import './image.spec.js';
import './cpu_kernels.spec.js';
import './device_lost.spec.js';
import './layers.spec.js';
