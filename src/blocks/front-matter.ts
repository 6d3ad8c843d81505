/**
 * A Markdown runbook's YAML front matter (the `---` block that opens the document, as Runme, Jekyll
 * and GitHub read it), parsed with the `yaml` library. cmdrun reads Runme's keys for prompts:
 * `promptEnv` (params.ts: parsePromptMode) and `skipPrompts: true` (which means `never`).
 * The YAML library loads on demand (loadYaml: ~35 ms of module loading that a shell script never needs).
 */
import { parsePromptMode, type PromptMode } from './params.js';

let parse: ((text: string) => unknown) | undefined;

/** Loads the YAML parser (once); readFrontMatter reads front matter only once it has. */
export async function loadYaml(): Promise<void> {
  parse ??= (await import('yaml')).parse;
}

/** The front matter of a document. */
export interface FrontMatter {
  /** Lines it occupies, the `---` lines included (0 when there is none). */
  lines: number;
  /** The document's prompt mode: `promptEnv`, or `never` for `skipPrompts: true`; undefined when it says none. */
  promptEnv?: PromptMode;
  /** Set when the YAML could not be read: the parser's message (the document still opens). */
  error?: string;
}

/**
 * Finds and reads the front matter: the first line is `---`, and it ends at the next line that is
 * `---` or `...`. `text` has `\n` line breaks. A document without one has `lines: 0`.
 */
export function readFrontMatter(text: string): FrontMatter {
  const lines = text.split('\n');
  if (lines[0]?.trimEnd() !== '---') return { lines: 0 };
  const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (end < 0) return { lines: 0 };
  let data: unknown;
  if (!parse) return { lines: end + 1, error: 'the YAML parser is not loaded (loadYaml)' };
  try {
    data = parse(lines.slice(1, end).join('\n'));
  } catch (err) {
    return { lines: end + 1, error: (err as Error).message };
  }
  const fields = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const skip = fields.skipPrompts === true || (typeof fields.skipPrompts === 'string' && parsePromptMode(fields.skipPrompts) === 'always');
  const promptEnv = skip ? 'never' : parsePromptMode(fields.promptEnv as string | boolean | undefined);
  return { lines: end + 1, ...(promptEnv ? { promptEnv } : {}) };
}
