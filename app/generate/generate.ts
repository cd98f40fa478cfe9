// Text generation from a prompt: greedy or sampled (sampler.ts), up to maxNewTokens, stopping
// at EOS. The prompt runs once through the cached block graph (prefill); each step then feeds
// only the new token and the keys/values of the earlier positions (ModelRunner.forwardCached),
// reading only the last position's logits.
//
// A streamed model (one block resident, README "Memory model") would be read from its file
// again for every token; during generation the runner keeps decoded weights up to
// `cacheBytes` (default half the free memory): a 1B model entirely, an 8B one in part.
import { freemem } from 'node:os';
import type { KvCache, ModelRunner } from '../forward/runner.js';
import { createSampler, type SamplerOptions } from './sampler.js';

export interface GenerateOptions extends SamplerOptions {
  /** Tokens to generate at most (default 64). */
  maxNewTokens?: number;
  /** Stop when the model emits EOS (default true); the EOS id is kept in `tokenIds`. */
  stopAtEos?: boolean;
  /** Called with each new token (streaming, progress). */
  onToken?: (id: number, index: number) => void;
  /** Checked between steps; an aborted signal throws its reason. */
  signal?: AbortSignal;
  /** Float32 weight bytes kept across steps instead of re-read per token (default half of os.freemem(); 0 streams). */
  cacheBytes?: number;
}

export type StopReason = 'eos' | 'max_new_tokens' | 'max_positions';

export interface Generation {
  /** Prompt tokens, BOS included when the model has one. */
  promptIds: number[];
  /** The generated tokens only. */
  tokenIds: number[];
  /** The continuation's text: decode(prompt + new) with decode(prompt) removed, so spacing is right. */
  text: string;
  stopReason: StopReason;
  seconds: number;
}

export async function generate(runner: ModelRunner, prompt: string | readonly number[], options: GenerateOptions = {}): Promise<Generation> {
  const start = performance.now();
  const { tokenizer } = runner.model;
  const config = runner.config;
  const maxNewTokens = options.maxNewTokens ?? 64;
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const promptIds = typeof prompt === 'string' ? tokenizer.encode(prompt) : [...prompt];
  if (promptIds.length === 0) throw new Error('the prompt is empty and the model has no BOS token to start from');
  if (promptIds.length >= config.max_position_embeddings) {
    throw new Error(`the prompt has ${promptIds.length} tokens; the model's context is ${config.max_position_embeddings}`);
  }
  const choose = createSampler(options);
  const eos = options.stopAtEos === false ? null : (config.eos_token_id ?? tokenizer.eosId);

  let input = Int32Array.from(promptIds); // [1, T]: the prompt, then one token per step
  let cache: KvCache | undefined;
  const tokenIds: number[] = [];
  let stopReason: StopReason = 'max_new_tokens';
  runner.cacheWeights(options.cacheBytes ?? Math.floor(freemem() / 2));
  try {
    while (tokenIds.length < maxNewTokens) {
      options.signal?.throwIfAborted();
      // The whole sequence (prompt + generated) stays within the model's context.
      if ((cache?.length ?? 0) + input.length >= config.max_position_embeddings) {
        stopReason = 'max_positions';
        break;
      }
      const step = await runner.forwardCached(input, [1, input.length], cache);
      cache = step.cache;
      const next = choose(step.logits); // logits [1, V]
      input = Int32Array.of(next);
      tokenIds.push(next);
      options.onToken?.(next, tokenIds.length - 1);
      if (next === eos) {
        stopReason = 'eos';
        break;
      }
    }
  } finally {
    runner.cacheWeights(0); // the runner may serve other work next: back to streaming
  }
  return { promptIds, tokenIds, text: continuation(runner, promptIds, tokenIds), stopReason, seconds: (performance.now() - start) / 1000 };
}

function continuation(runner: ModelRunner, promptIds: number[], tokenIds: number[]): string {
  const { tokenizer } = runner.model;
  const before = tokenizer.decode(promptIds);
  const all = tokenizer.decode([...promptIds, ...tokenIds]);
  return all.startsWith(before) ? all.slice(before.length) : tokenizer.decode(tokenIds);
}
