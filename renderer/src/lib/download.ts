// Saves a Blob as a file through a temporary blob: URL on an <a download> (works in Electron
// and in browsers, and under the page's CSP, which allows blob: but no inline scripts).
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  anchor.rel = 'noopener';
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // The download has started from the URL; give the browser a moment before releasing it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file-name-safe version of a label: "Weights of model.layers.0" → "weights-of-model.layers.0". */
export function fileStem(label: string): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'chart'
  );
}
