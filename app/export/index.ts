// exportVariant: one run variant → one folder in one format (peft | merged | compressed | onnx),
// written atomically (atomic-dir.ts) with an export.json (what was written, from which run,
// format facts) and a README.md saying how to load it. The CLI (`eora export`) and the UI call this.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openModel } from '../model/open.js';
import { modelFingerprint, RunFolder } from '../run/run.js';
import { engineVersion } from '../paths.js';
import { checkTarget, ExportError, writeFolderAtomically } from './atomic-dir.js';
import { exportCompressed } from './compressed.js';
import { exportMerged } from './merged.js';
import { exportOnnx } from './onnx.js';
import { exportPeft } from './peft.js';
import { folderBytes, readmeText } from './readme.js';
import { writeJsonFile } from './safetensors-out.js';
import { EXPORT_FORMATS, type ExportFormat, type ExportOptions, type FormatContext } from './types.js';
import { loadVariant } from './variant.js';

export { ExportError } from './atomic-dir.js';
export { listVariants } from './variant.js';
export { EXPORT_FORMATS, type ExportFormat, type ExportOptions, type ExportProgress } from './types.js';

export interface ExportSummary {
  dir: string;
  format: ExportFormat;
  variant: string;
  seconds: number;
  bytes: number;
  notes: Record<string, unknown>;
}

const WRITERS: Record<ExportFormat, (ctx: FormatContext) => Promise<void>> = {
  peft: exportPeft,
  merged: exportMerged,
  compressed: exportCompressed,
  onnx: exportOnnx,
};

export async function exportVariant(runDir: string, variant: string, format: ExportFormat, outDir: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const started = performance.now();
  if (!EXPORT_FORMATS.includes(format)) throw new ExportError(`unknown export format "${format}" (formats: ${EXPORT_FORMATS.join(', ')})`);
  checkTarget(outDir, options.force === true); // before the slow part
  const run = RunFolder.open(runDir);
  const model = await openModel(run.manifest.model.path);
  try {
    if (modelFingerprint(model) !== run.manifest.model.fingerprint) throw new ExportError(`${run.manifest.model.path} is not the model run ${run.dir} was made from (fingerprint differs)`);
    const source = loadVariant(runDir, variant, model);
    try {
      const notes: Record<string, unknown> = {};
      let done = 0;
      let total = 1;
      const dir = await writeFolderAtomically(outDir, options.force === true, async (temp) => {
        const ctx: FormatContext = {
          dir: temp,
          target: resolve(outDir),
          source,
          model,
          options,
          notes,
          begin: (n) => {
            total = n;
            done = 0;
          },
          step: (label) => {
            options.signal?.throwIfAborted();
            done++;
            options.onProgress?.({ done, total, label });
          },
        };
        options.signal?.throwIfAborted();
        await WRITERS[format](ctx);
        const manifest = {
          format,
          variant,
          run: run.dir,
          method: run.manifest.config.method ?? null,
          model: run.manifest.model.path,
          workbench_version: engineVersion(),
          created: new Date().toISOString(),
          ...notes,
        };
        writeJsonFile(join(temp, 'export.json'), manifest);
        writeFileSync(join(temp, 'README.md'), readmeText(format, variant, run.dir, String(run.manifest.config.method ?? 'unknown'), notes));
      });
      return { dir, format, variant, seconds: (performance.now() - started) / 1000, bytes: folderBytes(dir), notes };
    } finally {
      source.close();
    }
  } finally {
    model.close();
  }
}
