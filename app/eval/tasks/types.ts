// The shapes every task loader produces, and the one error they throw.
//
// A multiple-choice item follows lm-eval-harness' `multiple_choice` requests: each choice is
// a *continuation* appended to `context` as is, so it carries its own leading space
// (`context = "Question: …\nAnswer:"`, `choices = [" Paris", " Rome"]`).

export interface ChoiceItem {
  /** Stable within its task file (e.g. `arc_easy/17`, the item's 0-based index in the file). */
  id: string;
  context: string;
  /** Continuations, appended to `context` verbatim (leading space included). */
  choices: string[];
  /** Index of the correct choice. */
  gold: number;
}

export type TaskFormat = 'jsonl' | 'arc' | 'mathqa';

export interface SkippedItem {
  /** 0-based index of the record in its file (JSONL: line − 1). */
  index: number;
  reason: string;
}

export interface TaskSet {
  name: string;
  file: string;
  format: TaskFormat;
  items: ChoiceItem[];
  /** Records the loader could not turn into an item without guessing, with why. */
  skipped: SkippedItem[];
}

export interface TaskSpec {
  /** Default: the file's folder name (`…/arc_easy/test.json` → `arc_easy`). */
  name?: string;
  path: string;
  /** Inferred when absent: `.jsonl` → jsonl; a JSON array → arc or mathqa by its first record. */
  format?: TaskFormat;
  /** Keep the first `limit` items (after skips), in file order. */
  limit?: number;
}

/** A task file that cannot be read or is malformed; the message names the file (and line). */
export class TaskFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'TaskFileError';
  }
}
