/**
 * The editor language of a Markdown document: Markdown (@codemirror/lang-markdown) with each fence
 * highlighted in its own language, loaded when a fence first uses it, and headings sized as
 * headings. Loaded by markdown.ts only when the page opens a Markdown file.
 */
import { markdown } from '@codemirror/lang-markdown';
import { HighlightStyle, LanguageDescription, LanguageSupport, StreamLanguage, syntaxHighlighting, type StreamParser } from '@codemirror/language';
import type { Extension } from '@codemirror/state';
import { tags } from '@lezer/highlight';
import { fenceKind, parseFenceInfo } from '../src/blocks/fence.js';
import { shellLanguage } from './markdown.js';

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

/** Markdown, its fences highlighted in their languages, its headings sized. */
export function markdownLanguage(): Extension {
  return [markdown({ codeLanguages: fenceLanguage, completeHTMLTags: false }), syntaxHighlighting(headingStyle)];
}

