// Builds the browser test bundles and runs them with karma in headless Chromium (karma.conf.js):
// our own specs, then tfjs-core's suite (conformance, checked against
// test/known_failures/chromium.txt). Each run prints "browser-<suite>: N passed, N failed,
// N skipped"; the exit status is non-zero if either run failed.
// Usage: node scripts/run-browser-tests.mjs [all|specs|conformance] [name filter]
//   MPSGPU_WRITE_FAILURES=<file>  the conformance run writes its failing spec names there
//   CHROME_BIN=<path>             the browser (default /usr/bin/chromium)
import path from 'path';
import {createRequire} from 'module';
import {pathToFileURL} from 'url';
import {buildBrowserTests} from './build-browser-tests.mjs';

const require = createRequire(import.meta.url);
const karma = require('karma');

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const configFile = path.join(root, 'karma.conf.js');
const which = process.argv[2] ?? 'all';
const grep = process.argv[3];
const suites = which === 'all' ? ['specs', 'conformance'] : [which];
process.env.XDG_RUNTIME_DIR ??= '/tmp';

/** karma.conf.js is an ES module: karma require()s it, which Node < 20.19 cannot do. */
async function loadConfig(cliOptions) {
  const parseOptions = {promiseConfig: true, throwErrors: true};
  if (process.features.require_module) return karma.config.parseConfig(configFile, cliOptions, parseOptions);
  const {default: configure} = await import(pathToFileURL(configFile).href);
  const settings = {...cliOptions};
  configure({...cliOptions, set: s => Object.assign(settings, s)});
  return karma.config.parseConfig(null, settings, parseOptions);
}

function runKarma(config) {
  return new Promise(resolve => {
    const server = new karma.Server(config, code => resolve(code));
    server.start();
  });
}

await buildBrowserTests(which);
const failed = [];
for (const suite of suites) {
  const config = await loadConfig({suite, ...(grep ? {grep} : {})});
  const code = await runKarma(config);
  if (code !== 0) failed.push(suite);
}
if (suites.length > 1) console.log(failed.length ? `browser: FAILED (${failed.join(', ')})` : 'browser: all passed');
process.exit(failed.length ? 1 : 0);
