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
        '**It corrects the compressed model, not the original**, so the compressed model W_c of the same run is in `base/` ' +
        '(the same files as a `compressed` export) and `base_model_name_or_path` names it:\n\n' +
        `\`\`\`python\nfrom peft import AutoPeftModelForCausalLM\nmodel = AutoPeftModelForCausalLM.from_pretrained('THIS_FOLDER')  # loads ${String((notes.base as { base_model_name_or_path?: string } | undefined)?.base_model_name_or_path ?? 'base/')} + the adapter\n\`\`\`\n\n` +
        'If you move the folder, load the base yourself: `PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(\'THIS_FOLDER/base\'), \'THIS_FOLDER\')`.\n'
      );
    case 'merged':
      return head + `A plain Hugging Face checkpoint with W_c + B·A merged into every adapted linear (${String(notes.dtype)}). Load it like any Llama checkpoint (\`AutoModelForCausalLM.from_pretrained\`, or \`npx eora ppl THIS_FOLDER\`).\n`;
    case 'compressed':
      return (
        head +
        `The compressed weights W_c, dequantized, as a plain Hugging Face checkpoint (${String(notes.dtype)}).\n\n` +
        (gptq?.written
          ? `\`gptq/\` holds the same weights packed as a GPTQ checkpoint (${gptq.bits}-bit, group size ${gptq.group_size}, checkpoint_format ${gptq.checkpoint_format}, scales ${gptq.scales}) for AutoGPTQ / GPTQModel / transformers.\n`
          : `No packed GPTQ checkpoint: ${gptq?.reason ?? 'not applicable'}.\n`) +
        (notes.adapter
          ? `\n\`adapter/\` holds the ${variant} adapter (PEFT layout, scaling 1); its \`base_model_name_or_path\` is this folder, so\n\n` +
            "```python\nfrom peft import AutoPeftModelForCausalLM\nmodel = AutoPeftModelForCausalLM.from_pretrained('THIS_FOLDER/adapter')  # W_c + B·A\n```\n\n" +
            'loads the compensated model. This folder alone (without `adapter/`) is the compressed model before compensation.\n'
          : '')
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
