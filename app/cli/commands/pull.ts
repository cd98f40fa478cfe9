import { pullRepo } from '../../model/hub-download.js';
import { parseRepoId } from '../../model/hub.js';
import { stringOption, UsageError, type Command } from '../args.js';
import { progressBar } from '../progress.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'download a Hugging Face model into the local hub cache (where transformers keeps it)',
  help: `Usage: eora pull ORG/NAME [--revision R] [--include '*.safetensors,*.json']

Downloads a model repo into the Hugging Face hub cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub) in transformers' layout, so both read the same files; afterwards
ORG/NAME[@R] opens wherever a model path is accepted. Files already there are not fetched again;
an interrupted download resumes. LFS files are checked against their sha256.
Environment: HF_TOKEN (gated or private repos), HF_ENDPOINT (a mirror; default https://huggingface.co).

Options:
  --revision R     branch, tag or commit (default main)
  --include GLOBS  comma-separated file patterns (default: every file)
  --quiet          no progress bar
  -h, --help`,
  options: { revision: { type: 'string' }, include: { type: 'string' }, quiet: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new UsageError('ORG/NAME is required');
    const ref = parseRepoId(id);
    if (!ref) throw new UsageError(`"${id}" is not a repo id (expected ORG/NAME)`);
    const revision = stringOption(args, 'revision') ?? (id.includes('@') ? ref.revision : 'main');
    const include = stringOption(args, 'include')?.split(',').filter((p) => p.trim() !== '');
    const bar = progressBar(io, `pull ${ref.repo}`, 'MB', args.values.quiet === true);
    const result = await pullRepo({
      repo: ref.repo,
      revision,
      include,
      onProgress: (done, total) => bar.update(Math.round(done / 1e5) / 10, Math.round(total / 1e5) / 10),
    }).finally(() => bar.finish());
    io.stdout(`${ref.repo}@${revision} (${result.commit}): ${result.files.length} files, ${result.downloadedBytes} bytes downloaded\n${result.snapshot}\n`);
    return 0;
  },
};


