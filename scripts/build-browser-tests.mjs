// Bundles the browser test entries with esbuild for karma (karma.conf.js):
//   test/browser_specs.ts      -> .build/browser/specs.js        (our specs, shared with Node)
//   test/conformance_browser.ts -> .build/browser/conformance.js (tfjs-core's whole suite)
// tfjs 4.22's dist files are extensionless ESM, so nothing can load them unbundled.
// Usage: node scripts/build-browser-tests.mjs [specs|conformance|all]
import path from 'path';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const browserBuildDir = path.join(root, '.build', 'browser');
export const browserEntries = {
  specs: 'test/browser_specs.ts',
  conformance: 'test/conformance_browser.ts',
};

export async function buildBrowserTests(which = 'all') {
  const names = which === 'all' ? Object.keys(browserEntries) : [which];
  for (const name of names) {
    if (!browserEntries[name]) throw new Error(`unknown browser test bundle '${name}' (specs, conformance or all)`);
    await esbuild.build({
      entryPoints: [path.join(root, browserEntries[name])],
      outfile: path.join(browserBuildDir, `${name}.js`),
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome113',
      mainFields: ['module', 'main'],
      // Keep tfjs-core's compiled *_test.js files and side-effect imports its package.json drops.
      ignoreAnnotations: true,
      // tfjs-core's Node-only code paths (behind platform checks) name Node modules.
      external: ['fs', 'path', 'os', 'util', 'crypto', 'worker_threads', 'node-fetch', 'string_decoder'],
      define: {'process.env.NODE_ENV': '"test"'},
      sourcemap: 'linked',
      logLevel: 'warning',
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildBrowserTests(process.argv[2] ?? 'all');
}
