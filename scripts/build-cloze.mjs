#!/usr/bin/env node
// Regenerates resources/data/tasks/tinystories_cloze/test.jsonl from the held-out TinyStories
// text with the builder's defaults (app/eval/cloze.ts): `npm run build:app && node scripts/build-cloze.mjs`.
// The output is byte-identical on every run; app/eval/cloze.test.ts checks the committed file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildCloze, clozeJsonl, CLOZE_DEFAULTS } = await import(join(root, 'out', 'app', 'eval', 'cloze.js'));
const text = readFileSync(join(root, 'resources', 'data', 'tinystories', 'validation.txt'), 'utf8');
const records = buildCloze(text, CLOZE_DEFAULTS);
const target = join(root, 'resources', 'data', 'tasks', 'tinystories_cloze', 'test.jsonl');
writeFileSync(target + '.tmp', clozeJsonl(records));
renameSync(target + '.tmp', target);
console.log(`wrote ${records.length} items to ${target} (${JSON.stringify(CLOZE_DEFAULTS)})`);
