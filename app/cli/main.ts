// `eora <command>`: dispatch, help, and the error convention (one line on stderr, non-zero exit).
import { parseCommandArgs, UsageError, type CliIO, type Command } from './args.js';
import { inspectCommand } from './commands/inspect.js';
import { serveCommand } from './commands/serve.js';
import { pplCommand } from './commands/ppl.js';
import { generateCommand } from './commands/generate.js';
import { compressCommand } from './commands/compress.js';
import { compensateCommand } from './commands/compensate.js';
import { exportCommand, importGptqCommand } from './commands/export.js';
import { runCommand } from './commands/run.js';
import { runsCommand } from './commands/runs.js';
import { showCommand } from './commands/show.js';
import { makeRandomModelCommand } from './commands/make-random-model.js';
import { pullCommand } from './commands/pull.js';

export const commands: Command[] = [inspectCommand, pplCommand, generateCommand, compressCommand, compensateCommand, exportCommand, importGptqCommand, runCommand, runsCommand, showCommand, serveCommand, makeRandomModelCommand, pullCommand];

const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
};

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: eora <command> [options]',
    '',
    'EoRA Workbench: compress LLMs, then win back accuracy with low-rank compensation.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `eora <command> --help` for its options.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`eora: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout(command.help + '\n');
      return 0;
    }
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`eora ${name}: ${error.message} (see \`eora ${name} --help\`)\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`eora ${name}: ${message.split('\n')[0]}\n`);
    if (process.env.EORA_DEBUG && error instanceof Error) io.stderr(`${error.stack}\n`);
    return 1;
  }
}
