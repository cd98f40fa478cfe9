import { EngineHost } from '../../jobs/host.js';
import { rendererDir } from '../../paths.js';
import { startServer } from '../../server/server.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deviceOption, intOption, stringOption, UsageError, type Command } from '../args.js';

const shutdownGraceMs = 1000;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the headless workbench: the UI and the engine on http://127.0.0.1',
  help: `Usage: eora serve [--port N] [--device D]

Starts the workbench without Electron: serves the UI and the engine API on 127.0.0.1 only,
protected by a random token. Open the printed URL (it carries the token) in a browser.

Options:
  --port N     port to listen on (default 0: any free port)
  --device D   cpu | cuda | webgpu (default cpu)
  --token T    use this token instead of a random one (for scripts and tests)
  -h, --help`,
  options: { port: { type: 'string' }, device: { type: 'string' }, token: { type: 'string' } },
  maxPositionals: 0,
  async run(args, io) {
    const port = intOption(args, 'port', { min: 0, max: 65535 }) ?? 0;
    const device = deviceOption(args);
    const token = stringOption(args, 'token');
    if (token !== undefined && !/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new UsageError('--token must be 16-128 characters of [A-Za-z0-9_-]');
    const ui = rendererDir();
    if (!existsSync(join(ui, 'index.html'))) throw new Error(`the UI is not built (${ui}/index.html is missing): run \`npm run build\``);
    const engine = new EngineHost({ config: { host: 'server', device } });
    const server = await startServer({ engine, rendererDir: ui, port, token });
    io.stdout(`EoRA Workbench (headless) on ${device}\n  open: ${server.url}\n  stop: Ctrl+C\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    // Exit within 2 s whatever the engine is doing: a worker inside a long onnxruntime run (or a
    // blocked file system call) ignores terminate() until it returns, and would keep the process
    // alive. A second signal exits at once.
    const now = () => process.exit(0);
    process.once('SIGINT', now);
    process.once('SIGTERM', now);
    const stopped = await Promise.race([
      Promise.all([server.close(), engine.close()]).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), shutdownGraceMs).unref()),
    ]);
    if (!stopped) {
      io.stderr(`eora serve: the engine did not stop within ${shutdownGraceMs} ms; exiting anyway\n`);
      process.exit(0);
    }
    return 0;
  },
};
