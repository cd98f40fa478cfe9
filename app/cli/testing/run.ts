// Runs the CLI in-process with captured output, for tests.
import type { CliIO } from '../args.js';
import { main } from '../main.js';

export async function runCli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stderrIsTTY: false };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
