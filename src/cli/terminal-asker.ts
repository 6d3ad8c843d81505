/**
 * How `cmdrun run` answers a run's questions (inputs.ts, Asker): on a terminal it asks there (the
 * parameter's message and default in brackets, Enter takes the default, a secret without echo;
 * `[y/N]` for a confirmation); with no terminal it takes defaults, and `--yes` for confirmations.
 * Prompts go to stderr: stdout stays the blocks' output.
 */
import type { Asker, Question } from '../runs/inputs.js';
import type { Run } from '../runs/run.js';

/** One line being typed at a prompt. */
interface Reading {
  text: string;
  echo: boolean;
  done: (line: string | undefined) => void;
}

/** The Asker of `cmdrun run`. */
export class TerminalAsker implements Asker {
  private reading: Reading | undefined;

  /**
   * @param interactive stdin is a terminal (in raw mode: feed() gets what is typed)
   * @param yes `--yes`: confirmations are answered yes without asking
   */
  constructor(
    private readonly interactive: boolean,
    private readonly yes: boolean,
  ) {}

  /**
   * Takes typed text while a prompt waits: printable characters, Backspace, Enter (the line),
   * Ctrl-C or Ctrl-D on an empty line (cancel: the run is cancelled).
   * @returns false when no prompt waits (the text is a running block's input)
   */
  feed(data: string): boolean {
    const reading = this.reading;
    if (!reading) return false;
    for (const ch of data) {
      if (ch === '\r' || ch === '\n') return this.finish(reading.text);
      if (ch === '\x03' || (ch === '\x04' && reading.text === '')) return this.finish(undefined);
      if (ch === '\x7f' || ch === '\b') {
        if (reading.text) {
          reading.text = [...reading.text].slice(0, -1).join('');
          if (reading.echo) process.stderr.write('\b \b');
        }
      } else if (ch >= ' ' && ch !== '\x1b') {
        reading.text += ch;
        if (reading.echo) process.stderr.write(ch);
      }
    }
    return true;
  }

  private finish(line: string | undefined): true {
    const reading = this.reading!;
    this.reading = undefined;
    process.stderr.write(line === undefined ? '^C\n' : '\n');
    reading.done(line);
    return true;
  }

  /** Asks one line; undefined when cancelled or `signal` aborts. */
  private line(prompt: string, echo: boolean, signal: AbortSignal): Promise<string | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    process.stderr.write(prompt);
    return new Promise((resolve) => {
      const onAbort = () => {
        if (this.reading) this.finish(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.reading = {
        text: '',
        echo,
        done: (line) => {
          signal.removeEventListener('abort', onAbort);
          resolve(line);
        },
      };
    });
  }

  async params(_run: Run, questions: Question[], signal: AbortSignal): Promise<Record<string, string> | undefined> {
    const values: Record<string, string> = {};
    for (const q of questions) {
      if (!this.interactive) {
        // The run was checked before any block ran (missingValues); an earlier block may have unset it.
        if (q.default === undefined && !q.secret) throw new Error(`no value for ${q.name}${q.message ? ` (${q.message})` : ''}: give it with --env ${q.name}=...`);
        values[q.name] = q.default ?? '';
        continue;
      }
      const hint = q.secret ? '' : q.default !== undefined ? ` [${q.default}]` : '';
      const typed = await this.line(`${q.name}${q.message ? ` (${q.message})` : ''}${hint}: `, !q.secret, signal);
      if (typed === undefined) return undefined;
      values[q.name] = typed === '' && q.default !== undefined ? q.default : typed;
    }
    return values;
  }

  async confirm(run: Run, question: string, signal: AbortSignal): Promise<boolean> {
    if (this.yes) return true;
    if (!this.interactive) return false;
    const { title, on } = run.request;
    const where = [title, on ? `on ${on}` : undefined].filter(Boolean).join(' ');
    const answer = await this.line(`${where ? `${where}: ` : ''}${question} [y/N] `, true, signal);
    return answer !== undefined && /^y(es)?$/i.test(answer.trim());
  }
}
