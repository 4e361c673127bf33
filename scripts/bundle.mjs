// Bundles a TypeScript entry for Node with esbuild. tfjs 4.22's dist files are extensionless ESM,
// so Node cannot load them directly; `webgpu` and `deasync` are native and stay external.
// Usage: node scripts/bundle.mjs <entry.ts> <out.mjs>
import * as esbuild from 'esbuild';

export async function bundleForNode(entry, outfile) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    // Keep tfjs-core's compiled *_test.js files and side-effect imports its package.json drops.
    ignoreAnnotations: true,
    external: ['webgpu', 'deasync'],
    sourcemap: 'inline',
    logLevel: 'warning',
    banner: {js: "import {createRequire as __mpsgpuCreateRequire} from 'module'; const require = __mpsgpuCreateRequire(import.meta.url);"},
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [entry, out] = process.argv.slice(2);
  await bundleForNode(entry, out);
}
