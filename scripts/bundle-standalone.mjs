// Bundles our specs or tfjs-core's suite with a jasmine-core runner into one file that needs only
// node and the `webgpu` package (for the GPU machine, see ../shared/GPU.md).
// Usage: node scripts/bundle-standalone.mjs specs|conformance <out.mjs>
import * as esbuild from 'esbuild';

const [which, outfile] = process.argv.slice(2);
await esbuild.build({
  entryPoints: ['test/standalone_runner.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  ignoreAnnotations: true,
  external: ['webgpu', 'deasync'],
  define: {SPECS: JSON.stringify(which)},
  logLevel: 'warning',
  banner: {js: "import {createRequire as __mpsgpuCreateRequire} from 'module'; const require = __mpsgpuCreateRequire(import.meta.url);"},
});
