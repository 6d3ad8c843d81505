/**
 * What a Markdown fence's info string says: its language (which decides whether and how the fence
 * runs) and its attributes, in the two forms Runme writes: `{ name=setup excludeFromRunAll=true }`
 * and `{"name":"setup"}`. No I/O; shared by the server, `cmdrun run` and the page.
 */

import type { Interpreter } from '../session/session.js';

/** The programs an interpreter fence runs its code with: the session's (`<program> <file>` in the shell). */
export type { Interpreter };

/**
 * How a fence runs:
 * - `shell`: its code runs in the session's shell (`sh`, `bash`, `shell`, `shellscript` (VS Code's
 *   language id, which Runme runs), `zsh`); one written as a transcript runs as `console`
 *   (console.ts: isTranscript, the caller's business);
 * - `console`: a terminal transcript (`console`, `shell-session`, `sh-session`): only its command lines run;
 * - `interpreter`: `interpreter` runs its code (`python`, `py`, `node`, `js`, `javascript`, `ruby`, `perl`);
 * - `none`: data or another language (`yaml`, `json`, `text`, `diff`, no language...): never runs.
 */
export type FenceKind = { kind: 'shell' } | { kind: 'console' } | { kind: 'interpreter'; interpreter: Interpreter } | { kind: 'none' };

const SHELLS = new Set(['sh', 'bash', 'shell', 'shellscript', 'zsh']);
const CONSOLES = new Set(['console', 'shell-session', 'sh-session']);
/** Fence languages that name an interpreter, and the program each runs. */
export const INTERPRETERS: Readonly<Record<string, Interpreter>> = {
  python: 'python3',
  python3: 'python3',
  py: 'python3',
  node: 'node',
  js: 'node',
  javascript: 'node',
  ruby: 'ruby',
  rb: 'ruby',
  perl: 'perl',
  pl: 'perl',
};

/** How a fence of `language` (compared without case) runs; see FenceKind. */
export function fenceKind(language: string): FenceKind {
  const lang = language.toLowerCase();
  if (SHELLS.has(lang)) return { kind: 'shell' };
  if (CONSOLES.has(lang)) return { kind: 'console' };
  const interpreter = Object.hasOwn(INTERPRETERS, lang) ? INTERPRETERS[lang] : undefined;
  return interpreter ? { kind: 'interpreter', interpreter } : { kind: 'none' };
}

/** A fence's info string, read. */
export interface FenceInfo {
  /** The first word of the info string (CommonMark 4.5), `''` when there is none. */
  language: string;
  /** The attributes in `{...}` after the language, values as strings (`true` → `"true"`). */
  attributes: Record<string, string>;
}

/**
 * Reads a fence's info string: the language is its first word (up to white space or `{`), the
 * attributes the `{...}` after it (parseFenceAttributes). Text that is neither is ignored.
 */
export function parseFenceInfo(info: string): FenceInfo {
  const text = info.trim();
  let end = 0;
  while (end < text.length && !/[\s{]/.test(text[end])) end++;
  const language = text.slice(0, end);
  const brace = text.indexOf('{', end);
  const attributes = brace >= 0 ? parseFenceAttributes(text.slice(brace)) : {};
  return { language, attributes };
}

/**
 * Parses fence attributes as Runme writes them.
 * - JSON: `{"name":"setup","excludeFromRunAll":true}` (JSON.parse; values other than strings are
 *   written back as JSON: `true`, `3`);
 * - key=value pairs: `{ name=setup excludeFromRunAll=true }`, separated by white space (or commas);
 *   a value may be double-quoted (`title="Set up the DB"`, JSON string escapes) to hold spaces;
 *   a key without `=` is `"true"`.
 * Text that is not an attribute (an unclosed quote, a stray `=`) is skipped, never thrown at: a
 * fence's attributes never stop a document from opening.
 * @param text the info string from its `{` on
 */
export function parseFenceAttributes(text: string): Record<string, string> {
  const close = text.lastIndexOf('}');
  const body = text.slice(text.startsWith('{') ? 1 : 0, close >= 0 ? close : text.length);
  if (body.trim().startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(`{${body}}`);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      }
    } catch {
      // not JSON: read it as key=value pairs below
    }
  }
  const attributes: Record<string, string> = {};
  let i = 0;
  const isSeparator = (ch: string) => /[\s,]/.test(ch);
  while (i < body.length) {
    while (i < body.length && isSeparator(body[i])) i++;
    let key = '';
    while (i < body.length && !isSeparator(body[i]) && body[i] !== '=') key += body[i++];
    if (body[i] !== '=') {
      if (key) attributes[key] = 'true';
      continue;
    }
    i++; // the '='
    let value = '';
    if (body[i] === '"') {
      const end = closingQuote(body, i);
      try {
        value = JSON.parse(body.slice(i, end + 1)) as string;
      } catch {
        value = body.slice(i + 1, end);
      }
      i = end + 1;
    } else {
      while (i < body.length && !isSeparator(body[i])) value += body[i++];
    }
    if (key) attributes[key] = value;
  }
  return attributes;
}

/** The index of the `"` closing the string that starts at `start` (or the text's end). */
function closingQuote(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length;
}

/** True when an attribute value means yes (`true`, as Runme writes booleans; also `yes`, `1`). */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', 'yes', '1'].includes(value.toLowerCase());
}
