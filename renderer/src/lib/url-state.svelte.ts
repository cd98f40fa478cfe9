// Keeps the URL and the app in step (lib/url.ts says the format). URL → app: a hash naming a run
// opens it (a reload, a pasted link, Back); app → URL: opening a run or picking a linear rewrites
// the hash in place (replaceState: no history entry per click, no hashchange loop).
import { untrack } from 'svelte';
import { runs } from './runs.svelte.js';
import { buildHash, parseHash } from './url.js';

/** Starts following `hash()` (the shell's current location.hash); returns the stop function. */
export function followUrl(hash: () => string): () => void {
  return $effect.root(() => {
    $effect(() => {
      const { run, linear } = parseHash(hash());
      untrack(() => {
        if (linear && linear !== runs.linear) runs.linear = linear;
        if (run && run !== runs.current?.dir && run !== runs.opening) void runs.open(run);
      });
    });
    $effect(() => {
      const place = parseHash(hash());
      const dir = runs.current?.dir ?? (runs.openError ? null : place.run);
      const next = buildHash({ view: place.view || 'inspector', run: dir, linear: runs.linear });
      if (place.view && next !== location.hash) history.replaceState(history.state, '', next);
    });
  });
}
