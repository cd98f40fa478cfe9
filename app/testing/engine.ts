// Test helper: an EngineHost on the compiled worker (npm test builds out/app before Vitest).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHost } from '../jobs/host.js';
import { packageRoot } from '../paths.js';

export function compiledWorker(): string {
  const file = join(packageRoot(), 'out/app/jobs/worker.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build:app\` before the unit tests`);
  return file;
}

export function testEngine(hardCancelMs = 2000): EngineHost {
  return new EngineHost({ config: { host: 'server', device: 'cpu' }, workerFile: compiledWorker(), hardCancelMs });
}
