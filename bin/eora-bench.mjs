#!/usr/bin/env node
// `npm run bench -- forward`: runs the compiled bench (out/app/bench/main.js, built by `npm run build:app`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../out/app/bench/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error(`eora-bench: the engine is not built (${entry} is missing); run \`npm run build:app\` first.`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
