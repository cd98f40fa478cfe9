// The README.md each export carries: what the folder holds and how to load it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportFormat } from './types.js';

export function readmeText(format: ExportFormat, variant: string, run: string, method: string, notes: Record<string, unknown>): string {
  const head = `# ${variant} (${format})\n\nExported by the EoRA Workbench from run \`${run}\` (compression: ${method}). Details: \`export.json\`.\n\n`;
  const gptq = notes.gptq as { written: boolean; reason?: string; bits?: number; group_size?: number; checkpoint_format?: string; scales?: string } | undefined;
  switch (format) {
    case 'peft':
      return (
        head +
        'A LoRA adapter in PEFT\'s layout (`adapter_config.json`, `adapter_model.safetensors`), scaling lora_alpha / r = 1.\n\n' +
        '**It corrects the compressed model, not the original.** Load it on top of the compressed base of the same run\n' +
        '(`npx eora export RUN --variant compressed --format compressed --out BASE`; its `gptq/` folder for GPTQ loaders):\n\n' +
        '```python\nfrom transformers import AutoModelForCausalLM\nfrom peft import PeftModel\n' +
        "base = AutoModelForCausalLM.from_pretrained('BASE')\nmodel = PeftModel.from_pretrained(base, 'THIS_FOLDER')\n```\n"
      );
    case 'merged':
      return head + `A plain Hugging Face checkpoint with W_c + B·A merged into every adapted linear (${String(notes.dtype)}). Load it like any Llama checkpoint (\`AutoModelForCausalLM.from_pretrained\`, or \`npx eora ppl THIS_FOLDER\`).\n`;
    case 'compressed':
      return (
        head +
        `The compressed weights W_c, dequantized, as a plain Hugging Face checkpoint (${String(notes.dtype)}).\n\n` +
        (gptq?.written
          ? `\`gptq/\` holds the same weights packed as a GPTQ checkpoint (${gptq.bits}-bit, group size ${gptq.group_size}, checkpoint_format ${gptq.checkpoint_format}, scales ${gptq.scales}) for AutoGPTQ / GPTQModel / transformers.\n`
          : `No packed GPTQ checkpoint: ${gptq?.reason ?? 'not applicable'}.\n`)
      );
    case 'onnx':
      return (
        head +
        '`model.onnx` (+ `model.onnx.data`, external weights): input `input_ids` int64 [batch, seq], output `logits` float32 [batch, seq, vocab]; positions 0…seq−1, no KV cache.\n\n' +
        (notes.matmul_nbits
          ? `The quantized linears are \`com.microsoft::MatMulNBits\` (${String(notes.bits)}-bit, block size ${String(notes.block_size)}, the workbench's exact codes); each adapter is two small MatMuls, x·Aᵀ·Bᵀ, added to the base output. Needs onnxruntime (contrib ops).\n`
          : `The linears are float MatMuls: ${String(notes.float_reason)}.\n`)
      );
  }
}

/** Total bytes of the files under `dir`. */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}
