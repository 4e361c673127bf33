// Every spec file of ours; shared by the Node and browser entries.
import './elementwise.spec.js';
