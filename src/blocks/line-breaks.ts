/**
 * Line breaks of a document. CommonMark (section 2.1) and CodeMirror both read `\n`, `\r\n` and a
 * lone `\r` as a line break; blocks and the editor work on `\n`, and a save writes the file's own
 * break back, so a CRLF file stays CRLF byte for byte.
 */

/** A line break as a file writes it. */
export type LineBreak = '\n' | '\r\n' | '\r';

/** The text with every `\r\n` and lone `\r` made `\n` (line numbers unchanged). */
export function normalizeLineBreaks(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** The file's line break: its first one (`\n` for a text without any). */
export function lineBreakOf(text: string): LineBreak {
  const at = text.search(/\r\n?|\n/);
  if (at < 0 || text[at] === '\n') return '\n';
  return text[at + 1] === '\n' ? '\r\n' : '\r';
}

/** `text` (with `\n` breaks) written with `lineBreak`. */
export function withLineBreak(text: string, lineBreak: LineBreak): string {
  return lineBreak === '\n' ? text : text.replace(/\n/g, lineBreak);
}
