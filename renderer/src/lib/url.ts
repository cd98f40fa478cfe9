// Where the user is, in the URL: #/<view>?run=<run folder>&linear=<linear>, so a reload (or a
// pasted link) returns to the same view of the same run. Pure functions here (url.test.ts);
// url-state.svelte.ts keeps the hash and the app state in step.

export interface Place {
  view: string;
  run: string | null;
  linear: string | null;
}

/** "#/spectra?run=%2Fr%2Fa&linear=model.layers.0.mlp.up_proj" → {view: "spectra", run: "/r/a", linear: …}. */
export function parseHash(hash: string): Place {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : body.slice(q + 1));
  return { view: q < 0 ? body : body.slice(0, q), run: params.get('run') || null, linear: params.get('linear') || null };
}

/** The hash for a place; the linear only where a view shows one (Spectra). */
export function buildHash(place: Place): string {
  const params = new URLSearchParams();
  if (place.run) params.set('run', place.run);
  if (place.linear && place.view === 'spectra') params.set('linear', place.linear);
  const query = params.toString();
  return `#/${place.view}${query ? `?${query}` : ''}`;
}

/** "Spectra · gptq-w3-20261204 — EoRA Workbench": the view first, so tabs tell themselves apart. */
export function pageTitle(viewLabel: string, runName: string | null, extra: readonly (string | null | undefined)[] = []): string {
  const head = runName ? `${viewLabel} · ${runName}` : viewLabel;
  return [head, 'EoRA Workbench', ...extra.filter(Boolean)].join(' — ');
}
