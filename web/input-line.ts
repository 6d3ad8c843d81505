/**
 * The input line under a running block: what the user types there goes to the block's terminal.
 * A local session says when the block waits for input (`waiting`): the line is marked then and
 * takes the cursor. A remote session cannot tell, so a remote block's line is marked for as long as
 * it runs, without taking the cursor (that would steal keys typed in the editor during Run all).
 */

const PLACEHOLDER = 'input to the running block: Enter sends a line, Ctrl+D end of input, Ctrl+C interrupts';
const REMOTE_PLACEHOLDER = 'input to the block on another machine (cmdrun cannot tell when it waits): Enter sends a line, Ctrl+D end of input';

export class InputLine {
  readonly dom: HTMLInputElement;
  /** The fleet host the line sends to (undefined: the run's only session). */
  private target?: string;
  private remote = false;

  /**
   * @param panel the output panel's element: it gets the class `waiting` while the block waits
   * @param left the input line closed while it had the focus, or Escape was pressed in it
   */
  constructor(
    private readonly panel: HTMLElement,
    private readonly left: () => void,
  ) {
    this.dom = document.createElement('input');
    this.dom.className = 'output-stdin';
    this.dom.dataset.testid = 'stdin';
    this.dom.type = 'text';
    this.dom.autocomplete = 'off';
    this.dom.spellcheck = false;
    this.dom.placeholder = PLACEHOLDER;
    this.dom.setAttribute('aria-label', 'Input to the running block');
    this.dom.hidden = true;
  }

  /**
   * Shows the line: `send` types text into the block's terminal, `interrupt` is Ctrl+C. A `remote`
   * block's line stays marked while it runs (its session never says it waits).
   */
  open(send: (data: string) => void, interrupt: () => void, remote: boolean): void {
    const stdin = this.dom;
    stdin.hidden = false;
    this.remote = remote;
    this.describe();
    this.panel.classList.toggle('remote-input', remote);
    stdin.onkeydown = (event) => {
      if (event.key === 'Enter') {
        send(`${stdin.value}\r`);
        stdin.value = '';
      } else if (event.ctrlKey && event.key === 'd') {
        send(`${stdin.value}\x04`);
        stdin.value = '';
      } else if (event.ctrlKey && event.key === 'c' && stdin.selectionStart === stdin.selectionEnd) {
        interrupt();
      } else if (event.key === 'Escape') {
        this.left();
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      this.panel.classList.remove('waiting');
    };
  }

  /** Sends to fleet host `target` from now on (the caller's `send` does); the line says so. */
  setTarget(target: string | undefined): void {
    this.target = target;
    this.describe();
  }

  private describe(): void {
    const text = this.remote ? REMOTE_PLACEHOLDER : PLACEHOLDER;
    this.dom.placeholder = this.target ? text.replace(/^input to the (running )?block/, `input to ${this.target}`) : text;
    this.dom.setAttribute('aria-label', this.target ? `Input to the block on ${this.target}` : 'Input to the running block');
  }

  /** The block waits for terminal input: mark the line and put the cursor in it. */
  waiting(): void {
    this.panel.classList.add('waiting');
    this.dom.focus({ preventScroll: false });
  }

  /** Hides the line (the run is over); gives the focus back if it had it. */
  close(): void {
    const hadFocus = document.activeElement === this.dom;
    this.dom.hidden = true;
    this.dom.onkeydown = null;
    this.panel.classList.remove('waiting', 'remote-input');
    if (hadFocus) this.left();
  }
}
