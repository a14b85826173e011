// Bundles the extension and the chat view's webview script (and, with --tests, the
// extension-host-free unit tests) with esbuild.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

if (args.has('--tests')) {
  const entryPoints = readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);
  await esbuild.build({ ...common, entryPoints, outdir: 'out/test', external: ['vscode'] });
} else {
  const extension = { ...common, entryPoints: ['src/extension.ts'], outfile: 'out/extension.js', external: ['vscode'] };
  // The webview runs in the browser: one self-contained script (markdown-it included).
  const webview = { ...common, platform: 'browser', format: 'iife', target: 'es2020', entryPoints: ['media/chat.ts'], outfile: 'out/chat.js' };
  if (args.has('--watch')) {
    for (const options of [extension, webview]) await (await esbuild.context(options)).watch();
  } else {
    await Promise.all([esbuild.build(extension), esbuild.build(webview)]);
  }
}
