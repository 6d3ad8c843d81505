/**
 * The toolbar's Export: a transcript of the notebook's runs (GET /api/transcript), downloaded as a
 * self-contained HTML file, as Markdown or as a Jupyter notebook (.ipynb, nbformat 4.5). The request carries the token, so the file is fetched
 * and handed to the browser as a blob URL with a download name.
 */
import type { Api } from './api.js';
import { openMenu } from './notebook.js';

type Format = 'html' | 'md' | 'ipynb';

/** Downloads the transcript in `format`; resolves with the file name. */
export async function downloadTranscript(api: Api, format: Format): Promise<string> {
  const res = await api.fetch(`/api/transcript?format=${format}`);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `transcript.${format}`;
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** Makes `button` open the Export menu: HTML, Markdown or Jupyter notebook. `say` reports in the status bar. */
export function setupExport(button: HTMLElement, api: Api, say: (message: string) => void): void {
  button.addEventListener('click', () => {
    button.setAttribute('aria-expanded', 'true');
    const items = [
      { value: 'html' as const, label: 'HTML transcript', detail: '.html, self-contained' },
      { value: 'md' as const, label: 'Markdown transcript', detail: '.md' },
      { value: 'ipynb' as const, label: 'Jupyter notebook', detail: '.ipynb, bash kernel' },
    ];
    openMenu(button, 'Export', items, (format: Format | undefined) => {
      button.setAttribute('aria-expanded', 'false');
      if (!format) return;
      downloadTranscript(api, format).then(
        (name) => say(`exported ${name}`),
        (err: Error) => say(`export failed: ${err.message}`),
      );
    }, { heading: "Each block's code and last output, in order" });
  });
}
