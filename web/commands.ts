/**
 * The page's commands in one table: each has a label, the keys users press and the CodeMirror key
 * it binds. The same table makes the editor keymap, the page-wide keymap (when the focus is on a
 * toolbar button), the toolbar buttons' titles and aria-keyshortcuts, and the shortcuts dialog.
 */
import { Prec, type Extension } from '@codemirror/state';
import { keymap, runScopeHandlers, type EditorView } from '@codemirror/view';

/** A page command. */
export interface Command {
  /** The toolbar button's id, when the command has one. */
  button?: string;
  label: string;
  /** Keys as the shortcuts dialog shows them, e.g. `Ctrl+Shift+Enter`. */
  keys: string;
  /** The same keys for CodeMirror's keymap (`Mod` = Ctrl, or Cmd on macOS). */
  key: string;
  /** Runs the command; false lets the key do what it does otherwise. */
  run: () => boolean;
  /** Keep the browser's own use of the key even when `run` returns false (e.g. Ctrl+S). */
  preventDefault?: boolean;
}

/** The keys of `keys` in the form aria-keyshortcuts wants (WAI-ARIA 1.2 §6.7). */
function ariaKeys(keys: string): string {
  const names: Record<string, string> = { Ctrl: 'Control', Cmd: 'Meta', '↑': 'ArrowUp', '↓': 'ArrowDown', '?': 'Shift+?' };
  return keys
    .split(' / ')[0]
    .split('+')
    .map((k) => names[k] ?? k)
    .join('+');
}

/**
 * Binds `commands` in the editor (above every other keymap) and page-wide: keys pressed while the
 * focus is outside the editor and outside text fields run the same commands. Gives each toolbar
 * button its title and aria-keyshortcuts.
 */
export function commandKeymap(commands: Command[], view: () => EditorView): Extension {
  for (const command of commands) {
    const button = command.button ? document.getElementById(command.button) : null;
    if (!button) continue;
    button.title = `${command.label} (${command.keys})`;
    button.setAttribute('aria-keyshortcuts', ariaKeys(command.keys));
    button.addEventListener('click', () => command.run());
  }
  addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    if (event.defaultPrevented || view().dom.contains(target) || target.closest('input, textarea, dialog, [role=menu]')) return;
    runScopeHandlers(view(), event, 'notebook');
  });
  return Prec.highest(keymap.of(commands.map((c) => ({ key: c.key, run: () => c.run(), preventDefault: c.preventDefault, scope: 'editor notebook' }))));
}

/**
 * Fills the shortcuts dialog's table: the commands, then keys that are not commands of their own.
 */
export function fillShortcuts(table: HTMLElement, commands: Command[], extra: [string, string][]): void {
  const rows = [...commands.map((c) => [c.keys, c.label] as [string, string]), ...extra];
  table.replaceChildren(
    ...rows.map(([keys, label]) => {
      const tr = document.createElement('tr');
      const key = document.createElement('td');
      for (const [i, k] of keys.split(' / ').entries()) {
        if (i) key.append(' or ');
        const kbd = document.createElement('kbd');
        kbd.textContent = k;
        key.append(kbd);
      }
      const what = document.createElement('td');
      what.textContent = label;
      tr.append(key, what);
      return tr;
    }),
  );
}
