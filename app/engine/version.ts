import { readFileSync } from 'node:fs';
import { packageRoot } from '../paths.js';

let cached: string | undefined;

/** The workbench version from package.json. */
export function engineVersion(): string {
  cached ??= (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version;
  return cached;
}
