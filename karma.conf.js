// karma + jasmine in headless Chromium, WebGPU on its SwiftShader. One suite per run, from the
// bundles of scripts/build-browser-tests.mjs:
//   specs        our own specs (test/browser_specs.ts): every failure fails the run;
//   conformance  tfjs-core's whole suite (test/conformance_browser.ts): failures are checked
//                against test/known_failures/chromium.txt; the run fails if a spec outside the
//                list fails or a listed spec passes (the list only shrinks).
// `npm run test:browser` builds and runs both (scripts/run-browser-tests.mjs). By hand:
//   npx karma start karma.conf.js [--suite conformance] [--grep 'name part']
// MPSGPU_WRITE_FAILURES=<file>: the conformance run writes the names of its failing specs there.
// MPSGPU_VERBOSE_FAILURES=1: failures are printed with their whole messages and stacks.
// This file is an ES module ("type": "module"); karma 6 loads it through require(), which Node
// allows for ES modules from 20.19 on; scripts/run-browser-tests.mjs loads it on any Node.
import fs from 'fs';
import path from 'path';
import {fileURLToPath} from 'url';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * Chromium flags: WebGPU (on SwiftShader where there is no GPU), headless, as root, offline.
 * The last three let a 'webgpu' canvas be read (synchronous reads draw one into a 2D canvas): the
 * compositor must run on Vulkan (SwiftShader) too, or the canvas's swap chain images cannot be
 * created and the device is lost. karma's ChromeHeadless launcher adds --disable-gpu, which breaks
 * the same thing, hence the plain Chrome launcher with --headless.
 */
export const CHROMIUM_FLAGS = [
  '--headless', '--enable-unsafe-webgpu', '--no-sandbox',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
  '--use-angle=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
];

export const SUITES = {
  specs: {bundle: '.build/browser/specs.js', label: 'browser-specs', known: null},
  conformance: {bundle: '.build/browser/conformance.js', label: 'browser-conformance', known: 'test/known_failures/chromium.txt'},
};

function readList(file) {
  if (!file || !fs.existsSync(file)) return new Set();
  return new Set(fs.readFileSync(file, 'utf8').split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#')));
}

/**
 * Counts the results, prints failures that matter, applies the known-failures rule and sets the
 * exit status (karma's own counts every failed spec: failOnFailingTestSuite is off below).
 */
function MpsgpuReporter(baseReporterDecorator, config) {
  baseReporterDecorator(this);
  const suite = SUITES[config.mpsgpu.suite];
  const knownFile = suite.known && path.join(root, suite.known);
  const known = readList(knownFile);
  const counts = {passed: 0, failed: 0, pending: 0};
  const unexpected = [];
  const fixed = [];
  const failedNames = [];
  const errors = [];
  const verbose = Boolean(process.env.MPSGPU_VERBOSE_FAILURES);
  let started = Date.now();
  let ok = false;

  this.onRunStart = () => {
    started = Date.now();
  };
  this.onBrowserStart = () => {};

  this.onSpecComplete = (browser, r) => {
    const name = r.fullName ?? [...r.suite, r.description].join(' ');
    if (r.skipped) {
      counts.pending++;
    } else if (r.success) {
      counts.passed++;
      if (known.has(name)) fixed.push(name);
    } else {
      counts.failed++;
      failedNames.push(name);
      if (!known.has(name)) {
        unexpected.push(name);
        if (unexpected.length <= 200) {
          this.write(`FAILED: ${name}\n`);
          for (const line of (r.log ?? []).slice(0, 2)) {
            const text = verbose ? String(line) : String(line).split('\n')[0].slice(0, 300);
            this.write(`    ${text.split('\n').join('\n    ')}\n`);
          }
        }
      }
    }
    const n = counts.passed + counts.failed + counts.pending;
    if (n % 500 === 0) this.write(`... ${n} specs, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  };

  // Script errors, errors in afterAll, a crashed page: always a failure of the run.
  this.onBrowserError = (browser, error) => {
    const message = typeof error === 'string' ? error : (error?.message ?? JSON.stringify(error));
    errors.push(message);
    this.write(`BROWSER ERROR: ${message.split('\n').slice(0, 6).join('\n    ')}\n`);
  };

  this.onRunComplete = (browsers, results) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (process.env.MPSGPU_WRITE_FAILURES && suite.known) {
      fs.writeFileSync(process.env.MPSGPU_WRITE_FAILURES, failedNames.join('\n') + (failedNames.length ? '\n' : ''));
      this.write(`wrote ${failedNames.length} failing spec names to ${process.env.MPSGPU_WRITE_FAILURES}\n`);
    }
    const total = counts.passed + counts.failed + counts.pending;
    this.write(`\n${suite.label}: ${total} specs in ${seconds} s\n`);
    if (suite.known) {
      this.write(`known failures listed: ${known.size}; failing outside the list: ${unexpected.length}; ` +
        `listed but now passing: ${fixed.length}\n`);
      for (const name of fixed.slice(0, 50)) this.write(`NOW PASSING (remove from ${suite.known}): ${name}\n`);
    }
    if (results.disconnected) this.write('the browser disconnected before the run finished\n');
    this.write(`${suite.label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.pending} skipped\n`);
    ok = unexpected.length === 0 && fixed.length === 0 && errors.length === 0 && !results.error &&
      !results.disconnected && total > 0;
  };

  this.onExit = done => done(ok ? 0 : 1);
}
MpsgpuReporter.$inject = ['baseReporterDecorator', 'config'];

export default function configure(config) {
  const suiteName = config.suite ?? process.env.MPSGPU_BROWSER_SUITE ?? 'specs';
  if (!SUITES[suiteName]) throw new Error(`karma.conf.js: unknown suite '${suiteName}' (specs or conformance)`);
  if (!process.env.CHROME_BIN && fs.existsSync('/usr/bin/chromium')) process.env.CHROME_BIN = '/usr/bin/chromium';

  const clientArgs = [];
  if (config.grep) clientArgs.push('--grep', String(config.grep));

  config.set({
    basePath: root,
    frameworks: ['jasmine'],
    plugins: ['karma-jasmine', 'karma-chrome-launcher', {'reporter:mpsgpu': ['type', MpsgpuReporter]}],
    files: [
      {pattern: 'scripts/karma-browser-guard.js', watched: false},
      {pattern: SUITES[suiteName].bundle, watched: false},
      {pattern: SUITES[suiteName].bundle + '.map', included: false, watched: false, nocache: true},
    ],
    reporters: ['mpsgpu'],
    mpsgpu: {suite: suiteName},
    browsers: ['ChromiumHeadlessWebGPU'],
    customLaunchers: {
      ChromiumHeadlessWebGPU: {base: 'Chrome', flags: CHROMIUM_FLAGS},
    },
    client: {
      args: clientArgs,
      jasmine: {random: false, timeoutInterval: 120000, stopSpecOnExpectationFailure: false},
      clearContext: false,
    },
    // The browser's console.error lines (WebGPU errors among them) are printed; the rest is not.
    browserConsoleLogOptions: {level: 'error', terminal: true},
    failOnFailingTestSuite: false,
    singleRun: true,
    autoWatch: false,
    concurrency: 1,
    // SwiftShader is slow: one spec may compute for minutes; the whole suite for a long while.
    browserNoActivityTimeout: 600000,
    browserDisconnectTimeout: 60000,
    browserDisconnectTolerance: 0,
    captureTimeout: 180000,
    pingTimeout: 600000,
    logLevel: 'WARN',
  });
}
