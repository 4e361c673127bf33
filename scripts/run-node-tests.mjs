// Runs jasmine specs in Node on Dawn: `specs` (our own, test/node_specs.ts) or `conformance`
// (tfjs-core's own suite against mpsgpu, checked against test/known_failures/node.txt).
// Prints "N passed, N failed, N skipped" and exits non-zero on any unexpected result.
import fs from 'fs';
import path from 'path';
import Jasmine from 'jasmine';
import {bundleForNode} from './bundle.mjs';

const mode = process.argv[2] ?? 'specs';
const filter = process.argv[3];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const entry = mode === 'conformance' ? 'test/conformance_node.ts' : 'test/node_specs.ts';
// One bundle per process: several runs may share the checkout.
const out = path.join(root, '.build', `${mode}-${process.pid}.mjs`);
await bundleForNode(path.join(root, entry), out);

const knownFile = path.join(root, 'test', 'known_failures', 'node.txt');
const known = mode === 'conformance' && fs.existsSync(knownFile)
  ? new Set(fs.readFileSync(knownFile, 'utf8').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#')))
  : new Set();

const jasmine = new Jasmine({projectBaseDir: root});
jasmine.exitOnCompletion = false;
jasmine.loadConfig({spec_files: [], random: false, stopSpecOnExpectationFailure: false});
jasmine.jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;

const counts = {passed: 0, failed: 0, pending: 0};
const unexpected = [];
const fixed = [];
const failedNames = [];
const started = Date.now();
jasmine.env.clearReporters();
jasmine.env.addReporter({
  specDone(r) {
    if (r.status === 'passed') {
      counts.passed++;
      if (known.has(r.fullName)) fixed.push(r.fullName);
    } else if (r.status === 'failed') {
      counts.failed++;
      failedNames.push(r.fullName);
      if (!known.has(r.fullName)) {
        unexpected.push(r.fullName);
        if (unexpected.length <= 200) {
          console.log(`FAILED: ${r.fullName}`);
          for (const e of r.failedExpectations.slice(0, 2)) console.log(`    ${e.message.split('\n')[0].slice(0, 300)}`);
        }
      }
    } else {
      counts.pending++;
    }
    const n = counts.passed + counts.failed + counts.pending;
    if (n % 500 === 0) console.log(`... ${n} specs, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  },
  suiteDone(r) {
    // Errors in beforeAll/afterAll show up on the suite.
    for (const e of r.failedExpectations ?? []) {
      unexpected.push(`${r.fullName} (suite): ${e.message.split('\n')[0]}`);
      console.log(`SUITE ERROR: ${r.fullName}: ${e.message.split('\n')[0]}`);
    }
  },
});
if (filter) jasmine.env.configure({specFilter: spec => spec.getFullName().includes(filter)});

const result = await jasmine.execute([out]);
fs.rmSync(out, {force: true});
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (process.env.MPSGPU_WRITE_FAILURES) fs.writeFileSync(process.env.MPSGPU_WRITE_FAILURES, failedNames.join('\n') + '\n');
console.log(`\n${mode}: ${counts.passed + counts.failed + counts.pending} specs in ${seconds} s`);
if (mode === 'conformance') {
  console.log(`known failures listed: ${known.size}; failing outside the list: ${unexpected.length}; listed but now passing: ${fixed.length}`);
  for (const name of fixed.slice(0, 50)) console.log(`NOW PASSING (remove from ${path.relative(root, knownFile)}): ${name}`);
}
console.log(`${mode}: ${counts.passed} passed, ${counts.failed} failed, ${counts.pending} skipped`);
const ok = unexpected.length === 0 && fixed.length === 0 && (result.overallStatus === 'passed' || mode === 'conformance');
process.exit(ok ? 0 : 1);
