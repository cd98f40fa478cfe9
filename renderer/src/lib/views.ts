// The views the shell can show. Adding one is adding one file to renderer/src/views/ that
// exports `view` from its `<script module>`; the nav and the router pick it up from here.
import type { Component } from 'svelte';

export interface ViewMeta {
  /** The URL hash: #/<id>. */
  id: string;
  /** The nav label. */
  label: string;
  /** Nav position, ascending. */
  order: number;
}

export interface View extends ViewMeta {
  component: Component;
}

interface ViewModule {
  default: Component;
  view: ViewMeta;
}

const modules = import.meta.glob<ViewModule>('../views/*.svelte', { eager: true });

export const views: View[] = Object.entries(modules)
  .map(([file, module]) => {
    if (!module.view) throw new Error(`${file} does not export \`view\` from <script module>`);
    return { ...module.view, component: module.default };
  })
  .sort((a, b) => a.order - b.order);

/** The view a hash names ("#/spectra?run=…" names spectra), or the first view. */
export function viewForHash(hash: string): View {
  const id = hash.replace(/^#\/?/, '').split('?')[0];
  return views.find((v) => v.id === id) ?? views[0];
}
