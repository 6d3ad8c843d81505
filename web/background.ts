/**
 * The "Background output" strip: what the shell printed while no block ran (a background job an
 * earlier block started, `(sleep 5; echo done) &`), from GET /api/session/output. Output printed
 * while a block runs is in that block's panel. The strip shows the last lines as plain text
 * (colours stripped), and hides until there is something to show; Clear hides it again.
 */
import stripAnsi from 'strip-ansi';
import { ApiError, type Api } from './api.js';

/** Lines the strip keeps (older ones are dropped). */
const MAX_LINES = 200;
/** Waits before reconnect attempt `n` (ms): 250, 500, ... up to 5 s. */
const backoff = (n: number) => Math.min(250 * 2 ** n, 5000);

export class BackgroundOutput {
  private text = '';
  /** The id of the last event read: a reconnect resumes after it, and Clear keeps it. */
  private lastId = 0;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly strip: HTMLElement,
    private readonly body: HTMLElement,
    clear: HTMLButtonElement,
  ) {
    clear.addEventListener('click', () => {
      this.text = '';
      this.render();
    });
  }

  /** Follows the stream for the page's lifetime, resuming after the last event it saw. */
  async follow(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.api.stream('/api/session/output', this.lastId, (message) => {
          attempt = 0;
          if (message.event === 'shutdown') this.stopped = true;
          if (message.event !== 'output') return;
          this.lastId = message.id;
          this.add((message.data as { text: string }).text);
        });
      } catch (err) {
        if (err instanceof ApiError && err.status < 500) return; // refused: nothing to follow
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, backoff(attempt)));
    }
  }

  private add(text: string): void {
    // Carriage returns redraw a line, as a terminal does; the strip keeps the last state of each.
    const lines = (this.text + stripAnsi(text).replaceAll('\r\n', '\n')).split('\n').map((line) => line.slice(line.lastIndexOf('\r') + 1));
    this.text = lines.slice(-MAX_LINES).join('\n');
    this.render();
  }

  private render(): void {
    this.body.textContent = this.text;
    this.strip.hidden = this.text === '';
    this.body.scrollTop = this.body.scrollHeight;
  }
}
