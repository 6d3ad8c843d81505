/**
 * The Environment panel (toolbar): the notebook's parameters and given values (GET /api/env): name,
 * value (a secret only as `***`), where it came from, and Ask again (the next block that uses it
 * asks for it). A modal dialog, keyboard-usable like the page's others.
 */
import type { Api } from './api.js';

/** A variable as GET /api/env lists it. */
interface EnvVariable {
  name: string;
  value: string | null;
  source?: string;
  secret: boolean;
  askAgain: boolean;
  message?: string;
}

const SOURCES: Record<string, string> = { typed: 'typed', '--env': '--env', 'env file': 'env file', environment: 'the environment', session: 'set by a block', default: 'default' };

/** Adds the toolbar's Environment button, before `before`, and its dialog. */
export function setupEnvPanel(api: Api, before: Element, say: (message: string) => void, done: () => void): void {
  const button = Object.assign(document.createElement('button'), { id: 'environment', type: 'button', textContent: 'Environment' });
  button.setAttribute('aria-label', 'Show the notebook\'s parameters and their values');
  button.setAttribute('aria-haspopup', 'dialog');
  before.before(button);
  const dialog = document.createElement('dialog');
  dialog.id = 'env-dialog';
  dialog.setAttribute('aria-labelledby', 'env-title');
  dialog.innerHTML = `<form method="dialog"><h2 id="env-title">Environment</h2>
    <p class="note">Parameters of this notebook and the values given to it; secrets show as ***.</p>
    <table><thead><tr><th scope="col">Name</th><th scope="col">Value</th><th scope="col">From</th><th scope="col"></th></tr></thead><tbody></tbody></table>
    <p class="env-empty note" hidden>No parameters yet: a block's <code>export NAME=…</code> lines ask for them when it runs.</p>
    <div class="dialog-buttons"><button value="close" autofocus>Close</button></div></form>`;
  document.body.append(dialog);
  const body = dialog.querySelector('tbody')!;
  const fill = async () => {
    const { variables } = await api.json<{ variables: EnvVariable[] }>('GET', '/api/env');
    body.replaceChildren(
      ...variables.map((v) => {
        const row = document.createElement('tr');
        const cells = [v.name, v.value ?? '(none)', v.source ? (SOURCES[v.source] ?? v.source) : ''].map((text, i) => {
          const cell = document.createElement(i === 0 ? 'th' : 'td');
          if (i === 0) cell.setAttribute('scope', 'row');
          cell.textContent = text;
          return cell;
        });
        if (v.message) cells[0].title = v.message;
        const again = Object.assign(document.createElement('button'), { type: 'button', textContent: v.askAgain ? 'Will ask' : 'Ask again', disabled: v.askAgain });
        again.setAttribute('aria-label', `Ask again for ${v.name}`);
        again.onclick = () =>
          api.json('POST', `/api/env/${encodeURIComponent(v.name)}/ask-again`, {}).then(
            () => Object.assign(again, { textContent: 'Will ask', disabled: true }),
            (err: Error) => say(err.message),
          );
        const action = document.createElement('td');
        action.append(again);
        row.append(...cells, action);
        return row;
      }),
    );
    dialog.querySelector<HTMLElement>('.env-empty')!.hidden = variables.length > 0;
  };
  button.onclick = () => {
    fill().then(
      () => dialog.showModal(),
      (err: Error) => say(`could not read the environment: ${err.message}`),
    );
  };
  dialog.addEventListener('close', done);
}
