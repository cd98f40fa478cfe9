// A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`) behind our
// `Tokenizer` interface, using @huggingface/tokenizers (pure JS, works offline).
// BOS is handled here, not by the library's post-processor, so that `addBos: false` works
// the same for every tokenizer: we encode without special tokens and prepend BOS ourselves
// when the tokenizer would add it.
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isObject, readJsonObject, type JsonObject } from '../model/json.js';
import { ModelError } from '../model/types.js';
import type { Tokenizer } from './types.js';

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Whether `encode` prepends BOS by default (tokenizer_config's add_bos_token, see below). */
  readonly addsBos: boolean;

  private constructor(
    private readonly inner: HfLibTokenizer,
    config: JsonObject,
  ) {
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.bosId = this.specialId(config.bos_token);
    this.eosId = this.specialId(config.eos_token);
    this.addsBos = this.bosId !== null && defaultAddBos(inner, config, this.bosId);
  }

  /** Loads `dir/tokenizer.json` and, when present, `dir/tokenizer_config.json`. */
  static fromDirectory(dir: string): HfTokenizer {
    const json = readJsonObject(join(dir, 'tokenizer.json'));
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJsonObject(configPath) : {};
    return HfTokenizer.fromJson(json, config);
  }

  static fromJson(json: JsonObject, config: JsonObject = {}): HfTokenizer {
    const model = json.model;
    if (!isObject(model) || typeof model.type !== 'string') throw new ModelError('tokenizer.json', 'has no "model" object with a "type"');
    if (model.type === 'BPE' && (!isObject(model.vocab) || !Array.isArray(model.merges))) {
      throw new ModelError('tokenizer.json', 'BPE model needs a "vocab" object and a "merges" array');
    }
    // tokenizers.js insists on these keys; the Rust crate treats a missing one as null.
    const complete = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json };
    try {
      return new HfTokenizer(new HfLibTokenizer(complete, config), config);
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw new ModelError('tokenizer.json', `cannot be loaded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  encode(text: string, options?: { addBos?: boolean }): number[] {
    const ids = encodeIds(this.inner, text, false);
    return options?.addBos !== false && this.addsBos ? [this.bosId!, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    return this.inner.decode([...ids], { skip_special_tokens: true });
  }

  tokenText(id: number): string {
    const token = this.inner.id_to_token(id);
    if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
    return token;
  }

  /** `bos_token` is a string or an AddedToken-like {content}; null when absent or unknown. */
  private specialId(token: unknown): number | null {
    const content = typeof token === 'string' ? token : isObject(token) && typeof token.content === 'string' ? token.content : null;
    if (content === null) return null;
    return this.inner.token_to_id(content) ?? null;
  }
}

/**
 * Does this tokenizer add BOS? `add_bos_token` when the config says; otherwise whatever
 * tokenizer.json's post-processor does (Llama 3 style); otherwise true for Llama's
 * sentencepiece tokenizer classes, whose Python default is add_bos_token=True.
 */
function defaultAddBos(inner: HfLibTokenizer, config: JsonObject, bosId: number): boolean {
  if (typeof config.add_bos_token === 'boolean') return config.add_bos_token;
  const withSpecial = encodeIds(inner, 'a', true);
  const without = encodeIds(inner, 'a', false);
  if (withSpecial[0] === bosId && without[0] !== bosId) return true;
  return typeof config.tokenizer_class === 'string' && /^Llama|^CodeLlama/.test(config.tokenizer_class);
}

/**
 * tokenizers.js's .d.ts files import each other without extensions, which NodeNext cannot
 * follow, so `Encoding` arrives as `any`; this is the one place we restate its shape.
 */
function encodeIds(inner: HfLibTokenizer, text: string, addSpecialTokens: boolean): number[] {
  const encoding: { ids: number[] } = inner.encode(text, { add_special_tokens: addSpecialTokens });
  return encoding.ids;
}
