// Compiles the engine (app/) to out/app as ES modules. The CLI, the headless server and the
// engine worker run from there; Electron's main bundle spawns the same worker file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('out/app', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.app.build.json'], { stdio: 'inherit' });
mkdirSync('out/app', { recursive: true });
writeFileSync('out/app/package.json', JSON.stringify({ type: 'module', private: true }) + '\n');
