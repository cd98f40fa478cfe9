export interface Tokenizer {
  vocabSize: number;
  bosId: number | null;
  eosId: number | null;
  /** Text to ids; `addBos` prepends BOS when the model has one (the HF default for Llama). */
  encode(text: string, options?: { addBos?: boolean }): number[];
  /** Ids to text; special tokens (BOS/EOS) are skipped. */
  decode(ids: readonly number[]): string;
  /** One token's text, for showing tokens in the UI. */
  tokenText(id: number): string;
}
