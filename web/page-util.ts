/** Small helpers of the page: the token, elements by id, dialogs, run ids. */

const TOKEN_KEY = 'cmdrun-token';

/** Takes the token from the URL fragment into sessionStorage and removes it from the address bar. */
export function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The element with id `id`. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * Sets the text of the element with id `id`, leaving it untouched when it already says that (a
 * run's stream reports "connected" with every event: setting the same text would still replace
 * the text node and make the browser lay out and paint the status bar again).
 */
export function setText(id: string, text: string): void {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

/** A random run id (base64url-safe characters). */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Shows a <dialog> modally; resolves with the value of the button that closed it. */
export function ask(dialog: HTMLDialogElement): Promise<string> {
  dialog.returnValue = 'cancel';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue || 'cancel'), { once: true }));
}
