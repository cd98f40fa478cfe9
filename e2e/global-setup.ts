// Empties the e2e runs folder so every suite starts from no runs.
import { mkdirSync, rmSync } from 'node:fs';
import { runsDir } from './env';

export default function globalSetup() {
  rmSync(runsDir, { recursive: true, force: true });
  mkdirSync(runsDir, { recursive: true });
}
