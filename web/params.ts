/**
 * A run's questions on the page: the form of a block that asks for its parameters (in its output
 * panel, before anything of it runs) and the dialog of a block marked `confirm=`. Enter (or Run)
 * answers; Escape (or Cancel) cancels the run as an interrupt of a queued run does, so Run all
 * stops there. Secret fields are password fields; a secret's value is never sent to the page.
 */
import type { ConfirmData, ParamsData } from '../src/runs/run.js';
import type { Api } from './api.js';
import type { PageRun } from './runs.js';

/** Open questions by run id: how to take each away (answered, or the run went on without it). */
const open = new Map<string, () => void>();

/** Takes away the run's form or dialog, if any (its run started, ended or was cancelled). */
export function closeQuestion(runId: string): void {
  open.get(runId)?.();
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  Object.assign(el, props);
  el.append(...children);
  return el;
}

/** Cancels the run (POST interrupt: a run that waits for answers is cancelled). */
const cancel = (api: Api, runId: string, say: (m: string) => void) =>
  api.json('POST', `/api/runs/${runId}/interrupt`, {}).catch((err: Error) => say(`cancel failed: ${err.message}`));

/**
 * Shows the form of `data` in `run`'s panel and focuses its first field.
 * @param done called once the form is gone (the editor takes the focus back)
 */
export function showParamsForm(api: Api, run: PageRun, data: ParamsData, say: (m: string) => void, done: () => void): void {
  closeQuestion(run.runId);
  const form = element('form', { className: 'params-form' });
  form.dataset.testid = 'params-form';
  form.setAttribute('aria-label', 'Values this block asks for');
  const fields = data.params.map((p, i) => {
    const id = `param-${run.runId}-${i}`;
    const input = element('input', { id, name: p.name, type: p.secret ? 'password' : 'text', value: p.default ?? '', autocomplete: 'off', spellcheck: false });
    if (p.secret) input.placeholder = 'secret: never shown';
    const label = element('label', { htmlFor: id }, element('code', {}, p.name), ...(p.message ? [' ', element('span', { className: 'param-message' }, p.message)] : []));
    form.append(element('div', { className: 'param-row' }, label, input));
    return input;
  });
  const runButton = element('button', { type: 'submit', textContent: 'Run' });
  const cancelButton = element('button', { type: 'button', textContent: 'Cancel' });
  form.append(element('div', { className: 'dialog-buttons' }, runButton, cancelButton));
  const remove = () => {
    open.delete(run.runId);
    form.remove();
    done();
  };
  open.set(run.runId, remove);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(fields.map((f) => [f.name, f.value]));
    runButton.disabled = true;
    api.json('POST', `/api/runs/${run.runId}/params`, { values }).then(remove, (err: Error) => {
      runButton.disabled = false;
      say(`not sent: ${err.message}`);
    });
  });
  const onCancel = () => {
    remove();
    void cancel(api, run.runId, say);
  };
  cancelButton.onclick = onCancel;
  form.addEventListener('keydown', (event) => {
    event.stopPropagation(); // the editor's shortcuts stay out of the form
    if (event.key === 'Escape') onCancel();
  });
  const panel = run.view.dom.querySelector('.output-panel') ?? run.view.dom;
  panel.insertBefore(form, panel.children[1] ?? null);
  fields[0]?.focus();
}

/** Shows the confirmation dialog of `data` (default No): the block's title, its target, the question. */
export function showConfirm(api: Api, run: PageRun, data: ConfirmData, say: (m: string) => void, done: () => void): void {
  closeQuestion(run.runId);
  const title = element('h2', { id: `confirm-title-${run.runId}`, textContent: data.title ? `Run “${data.title}”?` : 'Run this block?' });
  const dialog = element('dialog', { className: 'confirm-dialog' });
  dialog.dataset.testid = 'confirm-dialog';
  dialog.setAttribute('aria-labelledby', title.id);
  const no = element('button', { value: 'no', textContent: 'Cancel', autofocus: true });
  const yes = element('button', { value: 'yes', textContent: 'Run' });
  dialog.append(
    element(
      'form',
      { method: 'dialog' },
      title,
      ...(data.on ? [element('p', { className: 'note', textContent: `on ${data.on}` })] : []),
      element('p', { className: 'confirm-question', textContent: data.question }),
      element('div', { className: 'dialog-buttons' }, yes, no),
    ),
  );
  let answered = false;
  const remove = () => {
    open.delete(run.runId);
    answered = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    done();
  };
  open.set(run.runId, remove);
  dialog.addEventListener('close', () => {
    if (answered) return;
    const said = dialog.returnValue === 'yes';
    remove();
    api.json('POST', `/api/runs/${run.runId}/confirm`, { yes: said }).catch((err: Error) => say(`not sent: ${err.message}`));
  });
  document.body.append(dialog);
  dialog.returnValue = 'no';
  dialog.showModal();
  no.focus();
}
