/**
 * The notebook page: loads the script, shows it in CodeMirror, and runs blocks through the API,
 * one at a time in the order asked, streaming each block's output into a panel under it.
 */
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import type { Interpreter } from '../src/blocks/fence.js';
import { isNotebookFile } from '../src/blocks/ipynb.js';
import { documentKind, loadSplitters } from '../src/blocks/parser.js';
import type { Block } from '../src/blocks/split.js';
import { formatTarget, parseTarget } from '../src/session/target.js';
import type { RunSummary } from '../src/runs/run.js';
import { Api } from './api.js';
import { BackgroundOutput } from './background.js';
import { followColorScheme } from './appearance.js';
import { commandKeymap, fillShortcuts, type Command } from './commands.js';
import { setupExport } from './export.js';
import { DocumentOutputs } from './document-outputs.js';
import { FileSync, type ConflictChoice } from './file-sync.js';
import { OtherRuns, historyLabel, loadHistory, openHistoryMenu, restoreRuns, showHistoryRun } from './history.js';
import { documentLanguage, selectionRun } from './markdown.js';
import { RUN_ACTIONS, blockAt, blockHolding, blockOutput, blocksField, blocksFor, notebook, openRunMenu, runAllBlocks, type RunScope } from './notebook.js';
import { fleetName, isFleet } from './fleet-labels.js';
import { fleetOf } from './fleet-panel.js';
import { rerunFailed, type RerunDeps } from './fleet-rerun.js';
import { loadTerminal } from './terminal-view.js';
import { EventStreams } from './event-streams.js';
import { Panels, type Place } from './panels.js';
import { outputHost } from './output-host.js';
import { ClearedRuns } from './cleared.js';
import { $, ask, newRunId, setText, takeToken } from './page-util.js';
import { RunFollower, type PageRun } from './runs.js';
import { Sessions } from './sessions.js';
import { inputFields } from '../src/blocks/params.js';
import { closeQuestion, showConfirm, showParamsForm } from './params.js';
import { setupEnvPanel } from './env-panel.js';

/** What a run posts besides its code and place; `onError` (an invalid target) is never posted. */
interface RunMeta extends ReturnType<typeof inputFields> {
  interpreter?: Interpreter;
  title?: string;
  on?: string;
  onError?: string;
}

/** The target fields of the block holding a run, for RunMeta. */
const targetOf = (block: Block | undefined): Pick<RunMeta, 'on' | 'onError'> => (block?.on === undefined ? {} : { on: block.on, onError: block.onError });

async function startPage(): Promise<void> {
  const token = takeToken();
  if (!token) {
    setText('message', 'No token: open the URL that cmdrun printed (it ends with #token=…).');
    return;
  }
  const api = new Api(token);
  performance.mark('cmdrun:start');
  // Everything the page needs at start is asked for at once.
  const sessions = new Sessions(api, $('sessions'));
  void sessions.refresh();
  const runs = api.json<RunSummary[]>('GET', '/api/runs');
  const earlier = loadHistory(api);
  const [file, splitters] = await Promise.all([
    api.json<{ path: string; content: string; mtimeMs: number | null }>('GET', '/api/file').finally(() => performance.mark('cmdrun:file')),
    loadSplitters({
      runtime: new URL('web-tree-sitter.wasm', location.href).href,
      bash: new URL('tree-sitter-bash.wasm', location.href).href,
    }).finally(() => performance.mark('cmdrun:parser')),
  ]);
  const name = file.path.split('/').pop() ?? file.path;
  document.title = `${name} · cmdrun`;

  const field = blocksField(splitters.forFile(name));
  let current: PageRun | undefined;
  /** Keep outputs in the document (Markdown runbooks only). */
  let documentOutputs: DocumentOutputs | undefined;
  const cleared = new ClearedRuns();

  // A fleet run's input goes to one host, named by `target`; an interrupt without one stops every host.
  const interrupt = (run: PageRun | undefined = current, target?: string): boolean => {
    if (!run) return false;
    api.json('POST', `/api/runs/${run.runId}/interrupt`, target === undefined ? {} : { target }).catch((err: Error) => setText('message', `interrupt failed: ${err.message}`));
    return true;
  };
  const send = (run: PageRun, data: string, target?: string) =>
    api.json('POST', `/api/runs/${run.runId}/input`, target === undefined ? { data } : { data, target }).catch((err: Error) => setText('message', `input not sent: ${err.message}`));
  const background = document.getElementById('background')!;
  void new BackgroundOutput(api, background, document.getElementById('background-body')!, document.getElementById('background-clear') as HTMLButtonElement).follow();
  const follower = new RunFollower(
    api,
    new EventStreams(token),
    {
      connection: (state) => setText('connection', state),
      running: (run) => {
        current = run;
        void sessions.refresh(); // busy at a start; idle, with the block's directory, at an end
      },
      asks: (run, event) => {
        const say = (m: string) => setText('message', m);
        if (event.event === 'params') showParamsForm(api, run, event.data, say, () => view.focus());
        else showConfirm(api, run, event.data, say, () => view.focus());
      },
      answered: (run) => closeQuestion(run.runId),
      ended: (run, end, startedAt) => documentOutputs?.ended(run, end, startedAt),
      rerunFailed: (run) => rerunFailed(rerun, run),
    },
    send,
    (run, target) => void interrupt(run, target),
  );

  const host = outputHost(() => view, name, (message) => setText('message', message));

  const updateDirty = () => {
    const dirty = files.dirty;
    setText('file-name', `${name}${dirty ? ' •' : ''}`);
    $('file-name').dataset.dirty = String(dirty);
    $('file-name').title = dirty ? 'Unsaved changes (Ctrl/Cmd+S saves)' : file.path;
  };

  const panels = new Panels({ view: () => view, field, host, others: new OtherRuns($('other-runs')) });

  /** POSTs go out one after another, so the server queues runs in the order the page asked. */
  let posting: Promise<unknown> = Promise.resolve();

  /**
   * Posts a run of `code` (at `at`) to the server's queue and follows it. Runs of one `batch` stop
   * at the first that fails (the server cancels the rest).
   */
  const runLines = (code: string, at: Place, batch?: string, { onError, ...meta }: RunMeta = {}): PageRun => {
    const run = panels.panel(newRunId(), code, at);
    // A target the page cannot read is never posted (nor run anywhere else): the block fails here.
    if (onError !== undefined) {
      run.view.failed(onError);
      return run;
    }
    if (meta.on !== undefined) run.view.setTarget(isFleet(meta.on) ? fleetName(meta.on) : formatTarget(parseTarget(meta.on)));
    const body = { code, runId: run.runId, lineStart: at.lineStart, lineEnd: at.lineEnd, cols: run.view.cols, batch, ...meta };
    // A network error is retried with the same runId: the server never runs it twice.
    const posted = posting.then(() =>
      api.postRun('/api/runs', body).then(
        () => true,
        (err: Error) => (run.view.failed(err.message), false),
      ),
    );
    posting = posted;
    follower.add(run, posted);
    return run;
  };

  /** Re-run failed: its panel replaces the old run's, under the block that holds it (else apart). */
  const rerun: RerunDeps = {
    api,
    panelInPlaceOf: (old, runId) => panels.inPlaceOf(old, runId),
    enqueue(post) {
      const posted = posting.then(post);
      posting = posted;
      void posted.then((run) => run && follower.add(run, Promise.resolve(true)));
    },
    say: (message) => setText('message', message),
  };

  /** Shows runs again after a (re)load: this server's, then earlier sessions' (web/history.ts). */
  const restore = async (): Promise<void> => {
    const blocks = view.state.field(field);
    const blockOfLine = (line: number) => blockAt(blocks, view.state, view.state.doc.line(line).from);
    const shown = await restoreRuns({ api, blocks, docLines: view.state.doc.lines, blockOfLine, live: await runs, earlier: await earlier, cleared: cleared.ids, clearedAt: cleared.at, showAt: (runId, code, where) => panels.showAt(runId, code, where), follow: (run) => follower.add(run, Promise.resolve(true)) });
    if (shown.failed) setText('message', `could not show ${shown.failed}`);
    else if (shown.earlier) setText('message', `${shown.earlier} output${shown.earlier === 1 ? '' : 's'} of earlier sessions shown (a block's ⋯ menu has its History)`);
  };

  const runBlock = (block: Block, batch?: string): PageRun =>
    DocumentOutputs.track(documentOutputs, runLines(block.code, panels.blockPlace(block), batch, { interpreter: block.interpreter, title: block.title, ...targetOf(block), ...inputFields(block) }), block.code);

  /**
   * Runs `blocks` in order as one batch: a failing one cancels the rest, as in Jupyter; the page
   * stops at a block whose target is invalid (it fails without being posted).
   */
  const runBlocks = (blocks: Block[]): boolean => {
    const batch = newRunId();
    for (const block of blocks) {
      runBlock(block, batch);
      if (block.onError !== undefined) break;
    }
    if (blocks.length === 0) setText('message', 'no blocks to run there');
    return true;
  };

  /** Runs `scope` relative to the block at the cursor. */
  const runScope = (scope: RunScope, block = blockAt(view.state.field(field), view.state, view.state.selection.main.head)): boolean => {
    if (!block) return false;
    const blocks = blocksFor(view.state.field(field), block, scope);
    return scope === 'block' ? (runBlock(block), true) : runBlocks(blocks);
  };

  /** Runs the selection, or the block at the cursor; returns the block run (if not a selection). */
  const runCurrent = (): Block | undefined => {
    const { state } = view;
    const sel = state.selection.main;
    if (!sel.empty) {
      const first = state.doc.lineAt(sel.from).number;
      const last = state.doc.lineAt(sel.to).number;
      // Inside a fence: its console prompts and its interpreter apply (markdown.ts).
      // Inside a block that names a target, the selection runs there too.
      const holding = blockHolding(state.field(field), first);
      const { code, interpreter } = selectionRun(state.doc, sel.from, sel.to, holding);
      runLines(code, { ...panels.placeOf(first, last), codeFrom: sel.from, codeTo: sel.to }, undefined, { interpreter, ...targetOf(holding), ...(interpreter ? {} : inputFields(holding ?? {})) });
      return undefined;
    }
    const block = blockAt(state.field(field), state, sel.head);
    if (block) runBlock(block);
    return block;
  };

  const runAndAdvance = (): boolean => {
    const block = runCurrent();
    const blocks = view.state.field(field);
    const next = block ? blocks[block.index + 1] : undefined;
    const pos = next ? view.state.doc.line(next.lineStart).from : view.state.doc.length;
    view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    return true;
  };

  const restart = async (): Promise<void> => {
    const said = await sessions.restart($('restart-dialog'), ask);
    if (said) setText('message', said);
    view.focus();
  };

  const clear = (): boolean => (setText('message', cleared.clear(view)), true);

  const showShortcuts = (): boolean => {
    void ask($('shortcuts')).then(() => view.focus());
    return true;
  };

  const textSelected = () => !view.state.selection.main.empty || !(document.getSelection()?.isCollapsed ?? true);
  const commands: Command[] = [
    { label: 'Run block and move to the next', keys: 'Shift+Enter', key: 'Shift-Enter', run: runAndAdvance },
    ...RUN_ACTIONS.map((a) => ({
      label: a.description,
      keys: a.keys,
      key: a.key,
      // Ctrl/Cmd+Enter runs the selection when there is one.
      run: a.scope === 'block' ? () => (runCurrent(), true) : () => runScope(a.scope),
    })),
    { button: 'run-all', label: 'Run all blocks', keys: 'Ctrl/Cmd+Shift+Enter', key: 'Mod-Shift-Enter', run: () => runBlocks(runAllBlocks(view.state.field(field))) },
    // Ctrl+C interrupts while a block runs, unless text is selected (then it copies).
    { button: 'interrupt', label: 'Interrupt the running block', keys: 'Ctrl+C', key: 'Ctrl-c', run: () => (textSelected() ? false : interrupt()) },
    { button: 'restart', label: 'Restart the shell', keys: 'Ctrl+Alt+R', key: 'Ctrl-Alt-r', run: () => (void restart(), true) },
    { button: 'clear', label: 'Clear all outputs', keys: 'Ctrl+Alt+K', key: 'Ctrl-Alt-k', run: clear },
    { button: 'save', label: 'Save the script', keys: 'Ctrl/Cmd+S', key: 'Mod-s', run: () => (void files.save(), true), preventDefault: true },
    { button: 'help', label: 'Show keyboard shortcuts', keys: 'F1', key: 'F1', run: showShortcuts, preventDefault: true },
  ];
  fillShortcuts($('shortcut-list'), commands, [
    ['Tab / Shift+Tab', 'Move between the toolbar, the editor and the buttons of output panels'],
    ['Enter', 'In an input line: send the line to the running block'],
    ['Ctrl+D', 'In an input line: end of input'],
    ['Escape', 'Close a dialog or menu; leave an input line for the editor'],
    ['Ctrl/Cmd+Z', 'Undo (runs never enter the undo history)'],
  ]);

  const theme = followColorScheme(() => view);
  const language = await documentLanguage(name);
  const view: EditorView = new EditorView({
    parent: $('editor'),
    state: EditorState.create({
      doc: file.content,
      extensions: [
        commandKeymap(commands, () => view),
        basicSetup,
        language,
        theme.initial,
        // Wrapped lines keep the content as wide as the view, so output panels never scroll sideways.
        EditorView.lineWrapping,
        notebook(field, (block, scope, anchor) => {
          if (scope !== 'menu') return void runScope(scope, block);
          anchor.setAttribute('aria-expanded', 'true');
          const shown = blockOutput(view.state, block);
          openRunMenu(anchor, (chosen) => {
            anchor.setAttribute('aria-expanded', 'false');
            if (chosen === 'rerun-failed') {
              if (shown) rerunFailed(rerun, { runId: shown.runId, view: shown });
              return void view.focus();
            }
            if (chosen === 'history') {
              // The chosen earlier run is shown in the block's panel, labelled as from the history.
              return void openHistoryMenu(api, anchor, block, (run) => {
                if (run) void showHistoryRun(api, panels.blockPanel(run.runId, run.code, block).view, run, historyLabel(run, 'History')).catch((err: Error) => setText('message', err.message));
                view.focus();
              });
            }
            if (chosen) runScope(chosen, block);
            view.focus();
          }, fleetOf(shown)?.failedCount);
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) updateDirty();
        }),
        EditorView.contentAttributes.of({ 'aria-label': `${name} (script editor)` }),
      ],
    }),
  });
  performance.mark('cmdrun:editor');
  const files = new FileSync(api, file, {
    view: () => view,
    say: (message) => setText('message', message),
    changed: updateDirty,
    ask: async (why) => {
      const dialog = $<HTMLDialogElement>('conflict');
      dialog.querySelector('.conflict-why')!.textContent = `${why} (${name})`;
      const choice = (await ask(dialog)) as ConflictChoice;
      view.focus();
      return choice;
    },
  });
  if (documentKind(name) === 'markdown' && !isNotebookFile(name)) documentOutputs = new DocumentOutputs({ view: () => view, blocks: () => view.state.field(field), files: () => files, say: (m) => setText('message', m) }, file.path);
  updateDirty();
  setText('connection', 'connected');
  setText('message', file.mtimeMs === null ? `${name} does not exist yet: it is created when you save` : 'F1 or the ? button lists the keyboard shortcuts');

  addEventListener('beforeunload', (event) => {
    if (files.dirty) event.preventDefault();
  });
  void files.watch();
  setupExport($('export'), api, (message) => setText('message', message));
  setupEnvPanel(api, document.querySelector('.toolbar .spacer')!, (message) => setText('message', message), () => view.focus());
  await restore().catch((err: Error) => setText('message', `could not restore outputs: ${err.message}`));
  view.focus();
  document.body.dataset.ready = 'true';
  performance.mark('cmdrun:ready'); // for the benchmark: navigation -> interactive editor
  void loadTerminal().then(() => performance.mark('cmdrun:terminal')); // prefetched: output panels need it
}

startPage().catch((err: Error) => {
  setText('message', `cmdrun could not start: ${err.message}`);
});
