// `npm start`: the desktop workbench in Electron when its binary is (or can be made) available
// and there is a display; otherwise it says why and starts the headless workbench, whose URL
// (with its token) it prints.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    const path = require('electron'); // the binary's path, or throws when it was never downloaded
    if (typeof path === 'string' && existsSync(path)) return { path };
  } catch {}
  // The install script was denied during `npm ci` (it downloads); try it once now.
  console.error('Electron binary missing: fetching it (node node_modules/electron/install.js) ...');
  const install = spawnSync(process.execPath, [require.resolve('electron/install.js')], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' },
    timeout: 300_000,
  });
  if (install.status !== 0) {
    // The installer's stack trace says little to a user; its first line says what failed.
    const cause = (install.stderr ?? '').split('\n').find((line) => line.trim()) ?? `exit code ${install.status}`;
    return { reason: `the Electron binary could not be downloaded (${cause.trim()})` };
  }
  try {
    delete require.cache[require.resolve('electron')];
    const path = require('electron');
    if (existsSync(path)) return { path };
  } catch {}
  return { reason: 'the Electron binary is still missing after its install script ran' };
}

function run(command, args) {
  const child = spawn(command, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

const electron = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (electron.path && !noDisplay) {
  run(electron.path, ['.']);
} else {
  const reason = electron.reason ?? 'there is no display ($DISPLAY is not set)';
  console.error(`Not starting the desktop app: ${reason}. Starting the headless workbench instead.`);
  run(process.execPath, ['bin/eora.mjs', 'serve', ...process.argv.slice(2)]);
}
