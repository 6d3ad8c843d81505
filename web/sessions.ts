/**
 * The notebook's sessions on the page, one per target blocks ran on (GET /api/sessions): the
 * status bar lists each with its shell, state and directory, and Restart shell asks which one to
 * restart when there are several (POST /api/session/restart). With only the local default session
 * the bar shows what it always did: the shell, idle or busy, the directory.
 */
import type { Api } from './api.js';

/** A session as GET /api/sessions answers it. */
export interface SessionInfo {
  /** The canonical target: `local`, `ssh://host[:port]`, `docker://[user@]container`, `podman://[user@]container`. */
  on: string;
  /** True for the notebook's default session (blocks with no `on` run there). */
  default: boolean;
  shell: string;
  pid: number | null;
  cwd: string;
  status: 'starting' | 'idle' | 'busy' | 'dead';
}

/** The value of the restart dialog's "All sessions" choice (never a target: targets are `local` or `SCHEME://…`). */
const ALL = '*';

export class Sessions {
  private list: SessionInfo[] = [];
  /** Targets being restarted (shown as `restarting` until the server answers). */
  private readonly restarting = new Set<string>();
  /** The request under way, and the one queued behind it (refreshes asked meanwhile share it). */
  private last: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;

  constructor(
    private readonly api: Api,
    private readonly bar: HTMLElement,
  ) {}

  /** Asks the server for the sessions and shows them; never fails (an error keeps what is shown). */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.last.then(async () => {
      this.queued = undefined;
      try {
        this.list = (await this.api.json<{ sessions: SessionInfo[] }>('GET', '/api/sessions')).sessions;
      } catch {
        // What is shown stays (a restart's `restarting` mark goes).
      }
      this.render();
    });
    this.queued = next;
    this.last = next;
    return next;
  }

  private render(): void {
    this.bar.toggleAttribute('data-several', this.list.length > 1);
    // The target is worth a word once there are several, or when the only one is remote.
    const named = this.list.length > 1 || this.list.some((s) => s.on !== 'local');
    const span = (className: string, text: string, label?: string) => {
      const el = document.createElement('span');
      el.className = className;
      el.textContent = text;
      if (label) el.setAttribute('aria-label', label);
      return el;
    };
    this.bar.replaceChildren(
      ...this.list.map((s) => {
        // A remote session connects with its next block: until then it is `starting` with no pid.
        const unconnected = s.status === 'starting' && s.pid === null && s.on !== 'local';
        const status = this.restarting.has(s.on) ? 'restarting' : unconnected ? 'not started' : s.status;
        const el = document.createElement('span');
        el.className = 'session';
        el.dataset.on = s.on;
        el.dataset.status = status;
        el.title = `${s.default ? 'The default session' : 'A block target'}: ${s.shell} on ${s.on}${s.pid ? `, pid ${s.pid}` : ''}${unconnected ? ' (connects with its next block)' : ''}`;
        if (named) el.append(span('session-target', s.on, 'Target'));
        el.append(span('session-shell', s.shell, 'Shell'), span('session-status', status, 'Shell status'));
        if (!unconnected) el.append(span('session-cwd', s.cwd, 'Current directory'));
        return el;
      }),
    );
  }

  /**
   * Restart shell: asks first (`dialog`, shown by `ask`), with a choice of session when there are
   * several (each target, or all of them). Resolves with what to tell the user, or undefined when
   * cancelled.
   */
  async restart(dialog: HTMLDialogElement, ask: (dialog: HTMLDialogElement) => Promise<string>): Promise<string | undefined> {
    await this.refresh();
    const several = this.list.length > 1;
    const choice = dialog.querySelector<HTMLFieldSetElement>('.restart-choice')!;
    dialog.querySelector('h2')!.textContent = several ? 'Restart a shell?' : 'Restart the shell?';
    choice.hidden = !several;
    if (several) {
      const option = (value: string, text: string, checked: boolean) => {
        const label = document.createElement('label');
        const input = document.createElement('input');
        input.type = 'radio';
        input.name = 'restart-session';
        input.value = value;
        input.checked = checked;
        label.append(input, ` ${text}`);
        return label;
      };
      choice.replaceChildren(
        Object.assign(document.createElement('legend'), { textContent: 'Which session' }),
        ...this.list.map((s) => option(s.on, s.default ? `${s.on} (default)` : s.on, s.default)),
        option(ALL, 'All sessions', false),
      );
    }
    if ((await ask(dialog)) !== 'restart') return undefined;
    const picked = several ? choice.querySelector<HTMLInputElement>('input:checked')?.value : undefined;
    const targets = picked === ALL ? this.list.map((s) => s.on) : [picked ?? this.list.find((s) => s.default)?.on ?? 'local'];
    for (const on of targets) this.restarting.add(on);
    this.render();
    try {
      await this.api.json('POST', '/api/session/restart', picked === ALL ? { all: true } : picked ? { on: picked } : {});
      if (!several) return 'shell restarted: all state was reset';
      return picked === ALL ? 'every shell restarted: all state was reset' : `the shell on ${picked} restarted: its state was reset`;
    } catch (err) {
      return `restart failed: ${(err as Error).message}`;
    } finally {
      this.restarting.clear();
      await this.refresh();
    }
  }
}
