/**
 * The page's side of Markdown runbooks: the editor language of a document (the shell's, or
 * Markdown from markdown-language.ts, loaded only for Markdown files), and the code a selection
 * inside a fence runs. Which fences run, and how, is src/blocks' business (fence.ts, markdown.ts),
 * shared with the server and `cmdrun run`.
 */
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import type { Extension, Text } from '@codemirror/state';
import type { Interpreter } from '../src/blocks/fence.js';
import { documentKind } from '../src/blocks/parser.js';
import type { Block } from '../src/blocks/split.js';

/** The shell's highlighting (a legacy mode): of `.sh` files, and of shell fences in Markdown. */
export const shellLanguage = StreamLanguage.define(shell);

/** The editor language of `fileName`: Markdown (documentKind) or the shell. */
export async function documentLanguage(fileName: string): Promise<Extension> {
  if (documentKind(fileName) !== 'markdown') return shellLanguage;
  return (await import('./markdown-language.js')).markdownLanguage();
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
