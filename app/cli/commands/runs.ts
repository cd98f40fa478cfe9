import { resolve } from 'node:path';
import { defaultRunsRoot, deleteRun, listRuns } from '../../experiment/runs.js';
import { stringOption, type Command } from '../args.js';

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list the run folders under the runs root with their status',
  help: `Usage: eora runs [--root DIR] [--json] [--delete RUN_DIR]

Lists every run folder under the runs root, newest first: status (done, running, stopped,
failed, or corrupt with the reason), model, compression method, creation time. A broken
folder is listed as corrupt, never a crash.

The runs root is DIR, else $EORA_RUNS_DIR, else the user's data folder + eora-workbench/runs
($XDG_DATA_HOME or ~/.local/share on Linux, ~/Library/Application Support on macOS,
%APPDATA% on Windows).

Options:
  --root DIR   the folder holding run folders
  --json       print [{dir, name, status, model, method, created, error?}]
  --delete RUN_DIR
               delete one run folder: only the files the workbench wrote; refused while
               the run is being written or when the folder holds other files
  -h, --help`,
  options: { root: { type: 'string' }, json: { type: 'boolean' }, delete: { type: 'string' } },
  maxPositionals: 0,
  async run(args, io) {
    const doomed = stringOption(args, 'delete');
    if (doomed !== undefined) {
      deleteRun(resolve(doomed));
      io.stdout(`deleted ${resolve(doomed)}\n`);
      return 0;
    }
    const root = stringOption(args, 'root') ?? defaultRunsRoot();
    const rows = listRuns(root);
    if (args.values.json) {
      io.stdout(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      io.stdout(`no runs under ${root}\n`);
      return 0;
    }
    const cells = rows.map((r) => [r.name, r.status, r.method ?? '-', r.created?.slice(0, 19).replace('T', ' ') ?? '-', r.error ?? r.model ?? '-']);
    const head = ['run', 'status', 'method', 'created', 'model / problem'];
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ');
    io.stdout([`${root}`, line(head), ...cells.map(line)].join('\n') + '\n');
    return 0;
  },
};
