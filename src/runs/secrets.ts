/**
 * Secret values and their masking: once cmdrun knows a secret's value (typed, `--env`, an env
 * file), every output it shows or keeps has that value replaced by `***`, as 1Password's `op run`
 * masks by default. A value split across output chunks (a program printing it a byte at a time) is
 * still masked: the masker holds back the end of a chunk that could begin a secret until the next
 * chunk tells.
 */

/** What stands for a secret value in output. */
export const MASK = '***';

/**
 * Values shorter than this (UTF-16 code units) are never masked: `***` would replace every `a` or
 * `ab` of the output. A multi-line value is masked line by line, each line by this rule.
 */
export const MIN_SECRET_LENGTH = 4;

/** The secret values of a notebook (shared by all its runs' maskers). */
export class Secrets {
  /** The strings masked, longest first (a secret that holds another is masked whole). */
  private values: string[] = [];
  private version = 0;

  /** Adds a secret's value (a multi-line one line by line); short pieces are not masked. */
  add(value: string): void {
    const pieces = value.split(/\r?\n/).filter((p) => p.length >= MIN_SECRET_LENGTH && !this.values.includes(p));
    if (pieces.length === 0) return;
    this.values = [...this.values, ...pieces].sort((a, b) => b.length - a.length);
    this.version++;
  }

  /** The masked strings, longest first. */
  get list(): readonly string[] {
    return this.values;
  }

  /** Changes with every add (maskers rebuild their pattern). */
  get revision(): number {
    return this.version;
  }

  /** A masker for one output stream. */
  masker(): Masker {
    return new Masker(this);
  }

  /** `text` with every known secret replaced (no state: for whole texts, not streams). */
  mask(text: string): string {
    const masker = new Masker(this);
    return masker.push(text) + masker.end();
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Masks one output stream: push() each chunk as it arrives and write what it returns; end() when
 * the stream stops (or must show everything it has, a block waiting for input), and write that too.
 */
export class Masker {
  private held = '';
  private pattern: RegExp | undefined;
  private revision = -1;

  constructor(private readonly secrets: Secrets) {}

  /** True once any secret is known (before that, output passes through untouched). */
  get active(): boolean {
    return this.secrets.list.length > 0 || this.held !== '';
  }

  /** The part of `held + chunk` that can be shown now, secrets masked. */
  push(chunk: string): string {
    const values = this.secrets.list;
    if (values.length === 0) {
      const out = this.held + chunk;
      this.held = '';
      return out;
    }
    const text = this.held + chunk;
    let cut = text.length - this.heldBack(text, values);
    // Never cut through a whole secret (one secret's start overlapping another's end).
    for (const value of values) {
      const at = cut > 0 ? text.lastIndexOf(value, cut - 1) : -1;
      if (at >= 0 && at + value.length > cut) cut = at;
    }
    this.held = text.slice(cut);
    return this.replace(text.slice(0, cut), values);
  }

  /** Everything still held back, secrets masked (the stream ended or waits). */
  end(): string {
    const out = this.replace(this.held, this.secrets.list);
    this.held = '';
    return out;
  }

  private replace(text: string, values: readonly string[]): string {
    if (!text || !values.some((v) => text.includes(v))) return text;
    if (this.revision !== this.secrets.revision) {
      this.pattern = new RegExp(values.map(escapeRegExp).join('|'), 'g');
      this.revision = this.secrets.revision;
    }
    return text.replace(this.pattern!, MASK);
  }

  /**
   * How many characters at the end of `text` must wait for the next chunk: the longest tail that
   * is a proper beginning of a secret, or that ends inside a secret which may go on (a whole secret
   * at the end is masked at once).
   */
  private heldBack(text: string, values: readonly string[]): number {
    let keep = 0;
    for (const value of values) {
      const first = value[0];
      for (let i = Math.max(0, text.length - value.length + 1); i < text.length; i++) {
        if (text[i] !== first || text.length - i <= keep) continue;
        if (value.startsWith(text.slice(i))) {
          keep = text.length - i;
          break;
        }
      }
    }
    return keep;
  }
}
