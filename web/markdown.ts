/**
 * The page's side of Markdown runbooks: the editor language of a document (shell, or Markdown with
 * each fence highlighted in its own language and headings sized as headings), and the code a
 * selection inside a fence runs. Which fences run, and how, is src/blocks' business (fence.ts,
 * markdown.ts), shared with the server and `cmdrun run`.
 */
import { markdown } from '@codemirror/lang-markdown';
import { HighlightStyle, LanguageDescription, LanguageSupport, StreamLanguage, syntaxHighlighting, type StreamParser } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import type { Extension, Text } from '@codemirror/state';
import { tags } from '@lezer/highlight';
import { fenceKind, parseFenceInfo } from '../src/blocks/fence.js';
import { documentKind } from '../src/blocks/parser.js';
import type { Interpreter } from '../src/blocks/fence.js';
import type { Block } from '../src/blocks/split.js';

const shellLanguage = StreamLanguage.define(shell);

/** A language whose CodeMirror package (or legacy mode) is loaded only when a fence uses it. */
const lazy = (name: string, alias: string[], load: () => Promise<LanguageSupport>) => LanguageDescription.of({ name, alias, load });
/** A legacy mode, loaded when first needed. */
const legacy = (mode: () => Promise<StreamParser<unknown>>) => async () => new LanguageSupport(StreamLanguage.define(await mode()));

/** Fence languages the page highlights; shell fences use the shell mode the `.sh` editor uses. */
const FENCE_LANGUAGES = [
  lazy('python', ['py', 'python3'], async () => (await import('@codemirror/lang-python')).python()),
  lazy('javascript', ['js', 'node', 'mjs', 'cjs'], async () => (await import('@codemirror/lang-javascript')).javascript()),
  lazy('typescript', ['ts'], async () => (await import('@codemirror/lang-javascript')).javascript({ typescript: true })),
  lazy('json', [], async () => (await import('@codemirror/lang-javascript')).javascript()),
  lazy('ruby', ['rb'], legacy(async () => (await import('@codemirror/legacy-modes/mode/ruby')).ruby)),
  lazy('perl', ['pl'], legacy(async () => (await import('@codemirror/legacy-modes/mode/perl')).perl)),
  lazy('yaml', ['yml'], legacy(async () => (await import('@codemirror/legacy-modes/mode/yaml')).yaml)),
  lazy('diff', ['patch'], legacy(async () => (await import('@codemirror/legacy-modes/mode/diff')).diff)),
];

/** The language of a fence from its info string (its first word), or null: plain text. */
function fenceLanguage(info: string) {
  const { language } = parseFenceInfo(info);
  const kind = fenceKind(language).kind;
  if (kind === 'shell' || kind === 'console') return shellLanguage;
  return LanguageDescription.matchLanguageName(FENCE_LANGUAGES, language, false);
}

/** Headings of a Markdown document look like headings: bold, larger for the first levels. */
const headingStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: '1.6em', fontWeight: '700', textDecoration: 'none' },
  { tag: tags.heading2, fontSize: '1.35em', fontWeight: '700', textDecoration: 'none' },
  { tag: tags.heading3, fontSize: '1.15em', fontWeight: '700', textDecoration: 'none' },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: '700', textDecoration: 'none' },
]);

/** The editor language of `fileName`: Markdown (documentKind) or the shell. */
export function documentLanguage(fileName: string): Extension {
  if (documentKind(fileName) !== 'markdown') return shellLanguage;
  return [markdown({ codeLanguages: fenceLanguage, completeHTMLTags: false }), syntaxHighlighting(headingStyle)];
}

/** What a selection runs: its code and, inside an interpreter fence, the program that runs it. */
export interface SelectionRun {
  code: string;
  interpreter?: Interpreter;
}

/**
 * What the selection [from, to] of `doc` runs. Inside a fence it is the selected part of the
 * fence's own code, line by line (a block's code lines are the document's lines with container
 * markup, fence indentation or a console `$ ` prompt removed from their start, and a console
 * fence's output lines blank), run by the fence's interpreter; elsewhere the text as it is.
 */
export function selectionRun(doc: Text, from: number, to: number, block: Block | undefined): SelectionRun {
  if (!block?.fence) return { code: doc.sliceString(from, to) };
  const code = block.code.split('\n');
  const first = doc.lineAt(from).number;
  const last = doc.lineAt(to).number;
  const lines: string[] = [];
  for (let n = first; n <= last; n++) {
    const line = doc.line(n);
    const text = n >= block.lineStart && n <= block.lineEnd ? code[n - block.lineStart] : '';
    const removed = line.length - text.length; // what the code line lacks at its start
    const start = n === first ? Math.max(0, from - line.from - removed) : 0;
    const end = n === last ? Math.max(0, to - line.from - removed) : text.length;
    lines.push(text.slice(start, end));
  }
  return block.interpreter ? { code: lines.join('\n'), interpreter: block.interpreter } : { code: lines.join('\n') };
}
