// A self-contained jasmine runner for machines with no node_modules (the GPU machine): bundled with
// jasmine-core and the specs by scripts/bundle-standalone.mjs. Usage: node bundle.mjs [filter]
// Prints "N passed, N failed, N skipped"; exits non-zero if any spec failed.
// @ts-ignore jasmine-core ships no types for its boot API
import jasmineRequire from 'jasmine-core/lib/jasmine-core/jasmine.js';

declare const SPECS: 'specs'|'conformance';

const jasmine = jasmineRequire.core(jasmineRequire);
const env = jasmine.getEnv();
Object.assign(globalThis, jasmineRequire.interface(jasmine, env), {jasmine});
jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
const filter = process.argv[2];
env.configure({random: false, specFilter: (spec: {getFullName(): string}) => !filter || spec.getFullName().includes(filter)});
const counts = {passed: 0, failed: 0, pending: 0};
const started = Date.now();
env.addReporter({
  specDone(r: {status: string; fullName: string; failedExpectations: Array<{message: string}>}) {
    if (r.status === 'passed') counts.passed++;
    else if (r.status === 'failed') {
      counts.failed++;
      console.log(`FAILED: ${r.fullName}\n    ${(r.failedExpectations[0]?.message ?? '').split('\n')[0].slice(0, 300)}`);
    } else counts.pending++;
  },
  jasmineDone() {
    console.log(`${SPECS} on ${process.env.MPSGPU_ADAPTER ?? 'the default adapter'}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.pending} skipped`);
    process.exit(counts.failed > 0 ? 1 : 0);
  },
});
if (SPECS === 'conformance') await import('./conformance_node.js');
else await import('./node_specs.js');
env.execute();
