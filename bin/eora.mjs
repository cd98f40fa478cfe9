#!/usr/bin/env node
// `npx eora …`: runs the compiled engine CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../out/app/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error(`eora: the engine is not built (${entry} is missing); run \`npm run build\` first.`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
