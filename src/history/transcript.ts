/**
 * Transcripts of a notebook's runs, to share: in the document's order, each block's code, then
 * its output, exit status, duration and start time. HTML is one self-contained file (inline CSS,
 * no scripts, no external requests; a Content-Security-Policy that forbids them besides) whose
 * output is drawn by xterm.js (headless) and its serialize addon, as the page draws it: colours,
 * `\r` progress lines and cursor redraws, and everything a block printed escaped as text.
 * Markdown puts each output in a fenced `text` block (the terminal's text: no escape sequences),
 * its fence longer than any backtick run inside (CommonMark 0.31, 4.5 "Fenced code blocks").
 */
import { basename } from 'node:path';
import { html, raw } from 'hono/html';
import { blockLabel, formatDuration, formatTime } from '../runs/format.js';
import type { Run } from '../runs/run.js';
import { backtickFence, outputRegions } from '../blocks/outputs.js';
import { blockLines, type Block } from '../blocks/split.js';
import { hostCount, hostFailed, hostOutcome } from '../runs/group-outputs.js';
import { hostName } from '../session/fleet-spec.js';
import { fleetOutput, fleetRunOf } from './fleet-history.js';
import type { HistoryRun } from './rows.js';

/** xterm.js (headless) and its serialize addon, loaded with the first transcript (~20 ms of loading). */
const xterm = async () => {
  const [{ default: headless }, { default: serialize }] = await Promise.all([import('@xterm/headless'), import('@xterm/addon-serialize')]);
  return { Terminal: headless.Terminal, SerializeAddon: serialize.SerializeAddon };
};

/** A run as a transcript shows it. */
export interface TranscriptRun {
  runId: string;
  /** Terminal output as the shell printed it (with an omitted mark where output was dropped). */
  output: string;
  /** Epoch ms. */
  startedAt?: number;
  /** False while (or when, for a killed cmdrun) it has no exit status. */
  finished: boolean;
  exitCode?: number;
  durationMs?: number;
  interrupted?: boolean;
  cancelled?: boolean;
  error?: string;
  /**
   * A fleet run's hosts, in fleet order (its `output` is then each distinct output once under the
   * hosts that printed it: fleetOutput).
   */
  hosts?: TranscriptHost[];
  /** A fleet run's fleet as written (`@web`). */
  fleet?: string;
}

/** One host of a fleet run in a transcript. */
export interface TranscriptHost {
  target: string;
  exitCode: number | null;
  durationMs?: number;
  interrupted?: boolean;
  unreachable?: boolean;
  /** Its last line of output, for a failure. */
  lastLine: string;
  output: string;
}

/**
 * A fleet run of the history as a transcript shows it, from its hosts' rows (HistoryStore.hosts);
 * its exit status is the first failing host's, as the run's own end had it (fleet-history.ts).
 */
export function historyFleetRun(rows: readonly HistoryRun[]): TranscriptRun {
  const run = fleetRunOf(rows);
  return {
    runId: run.runId,
    output: run.output,
    startedAt: run.startedAt,
    finished: run.finished,
    exitCode: run.exitCode,
    durationMs: run.durationMs,
    interrupted: run.interrupted,
    error: run.error,
    hosts: run.hosts.map((h) => ({ ...h, exitCode: h.exitCode ?? null })),
    fleet: run.fleet,
  };
}

/** One block of the document and its run (none: not run). */
export interface TranscriptEntry {
  block: { index: number; code: string; title?: string; lineStart: number };
  run?: TranscriptRun;
  /** Where the block is, when not `file:lineStart` (a notebook's `file cell 3`). */
  where?: string;
  /**
   * Text of the document before the block (a Markdown runbook's prose): written as is to a
   * Markdown transcript and as preformatted text to an HTML one. The shell splitter gives none.
   */
  prose?: string;
}

/** What a transcript is of. */
export interface Transcript {
  /** Absolute path of the script. */
  script: string;
  entries: TranscriptEntry[];
  /** Epoch ms it was written. */
  createdAt: number;
  version: string;
}

/** Terminal width of the transcript's output (character cells). */
const COLS = 120;
/** Lines of one output a transcript keeps (the last ones), as a page panel's Show all does. */
const MAX_LINES = 10_000;

/** A finished or running queue run as a transcript shows it (its kept output, head and tail). */
/**
 * A Markdown runbook's prose before each of its blocks: the document's lines from after one
 * block's closing fence to before the next block's opening fence (the first block's: from the top).
 * A shell script has none (its blocks have no fence). Text after the last block is not a block's,
 * nor is an output region written under a fence (outputs.ts).
 */
export function proseBefore(source: string, blocks: readonly Block[]): Array<string | undefined> {
  if (!blocks.some((block) => block.fence)) return blocks.map(() => undefined);
  const lines = source.split(/\r\n|\r|\n/);
  const regions = outputRegions(source, blocks); // outputs written into the document are no prose
  let next = 1;
  return blocks.map((block) => {
    const { first, last } = blockLines(block);
    const text = lines.slice(next - 1, first - 1).join('\n');
    next = (regions.get(block.index)?.last ?? last) + 1;
    return text.trim() ? text : undefined;
  });
}

export function transcriptRun(run: Run): TranscriptRun {
  const events = run.eventsAfter(0);
  const out: TranscriptRun = { runId: run.runId, finished: false, output: '' };
  const hostOutput = new Map<string, string>();
  for (const e of events) {
    if (e.event === 'output' && e.data.target !== undefined) hostOutput.set(e.data.target, (hostOutput.get(e.data.target) ?? '') + e.data.text);
    else if (e.event === 'output') out.output += e.data.text;
    if (e.event === 'end' && 'hosts' in e.data && !e.data.cancelled) {
      out.hosts = e.data.hosts.map((h) => ({ ...h, output: hostOutput.get(h.target) ?? '' }));
      out.fleet = run.fleet?.on;
      out.output = fleetOutput(out.hosts);
    }
    if (e.event === 'end' && 'target' in e.data && e.data.target !== undefined) continue; // a host's end
    if (e.event === 'start' && e.data.target === undefined) out.startedAt = e.data.startedAt;
    if (e.event === 'error') out.error = e.data.message;
    if (e.event === 'end') Object.assign(out, { finished: true, exitCode: e.data.exitCode, durationMs: e.data.durationMs, interrupted: e.data.interrupted, cancelled: e.data.cancelled });
  }
  return out;
}

/** Output through a headless terminal: its rows as HTML (serialize addon) and as plain text. */
async function render(output: string): Promise<{ html: string; text: string; dropped: number }> {
  const lines = output.split('\n').length;
  const dropped = Math.max(0, lines - MAX_LINES);
  const { Terminal, SerializeAddon } = await xterm();
  const term = new Terminal({ cols: COLS, rows: 24, scrollback: Math.min(lines, MAX_LINES) + 24, convertEol: true, allowProposedApi: true });
  const serializer = new SerializeAddon();
  term.loadAddon(serializer);
  await new Promise<void>((resolve) => term.write(output, resolve));
  const buffer = term.buffer.active;
  const text: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i)!;
    const s = line.translateToString(true);
    if (line.isWrapped && text.length) text[text.length - 1] += s;
    else text.push(s);
  }
  while (text.length && text[text.length - 1] === '') text.pop();
  // The addon gives <html><body>…<pre><div style=…><div>row</div>…</div></pre>: keep the rows,
  // without the padding to the terminal's width and the blank rows after the last one.
  const serialized = serializer.serializeAsHTML({ includeGlobalBackground: false });
  const inner = /<pre><div[^>]*>([\s\S]*)<\/div><\/pre>/.exec(serialized)?.[1] ?? '';
  const rows = inner.split(/(?=<div>)/).map((row) => row.replace(/ +(<\/span><\/div>)$/, '$1'));
  while (rows.length && /^<div>(<span><\/span>)*(<span> *<\/span>)*<\/div>$/.test(rows[rows.length - 1])) rows.pop();
  term.dispose();
  return { html: rows.join(''), text: text.join('\n'), dropped };
}

/**
 * What a terminal shows of `output`: its text without escape sequences, `\r` progress lines and
 * cursor redraws resolved, wrapped rows joined, trailing blanks removed; `\n` breaks. Of an output
 * over 10,000 lines only the last 10,000 are kept (`dropped` says how many went).
 */
export async function terminalText(output: string): Promise<{ text: string; dropped: number }> {
  const { text, dropped } = await render(output);
  return { text, dropped };
}

/** "exit 0 · 12 ms · started 2026-12-01 09:20:11", or why there is no exit status. */
function outcome(run: TranscriptRun | undefined): { text: string; state: string } {
  if (!run) return { text: 'not run', state: 'none' };
  const started = run.startedAt === undefined ? '' : ` · started ${formatTime(run.startedAt)}`;
  if (run.cancelled) return { text: 'cancelled (an earlier block failed)', state: 'none' };
  if (run.error) return { text: `error: ${run.error}${started}`, state: 'failed' };
  if (!run.finished) return { text: `unfinished: no exit status${started}`, state: 'none' };
  const parts = [`exit ${run.exitCode}`, formatDuration(run.durationMs ?? 0)];
  if (run.interrupted) parts.push('interrupted');
  if (run.hosts) parts.push(`on ${run.fleet ?? ''}${run.fleet ? ': ' : ''}${hostCount(run.hosts.length)}`);
  return { text: parts.join(' · ') + started, state: run.exitCode === 0 ? 'ok' : 'failed' };
}

const STYLE = `
body { margin: 2rem auto; max-width: 60rem; padding: 0 1rem; font: 15px/1.45 system-ui, sans-serif; color: #1f2328; background: #fbfbfa; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; } header p { color: #636c76; margin-top: 0; }
section { margin: 1.5rem 0; } h2 { font-size: 1rem; margin: 0 0 0.3rem; } h2 .where { color: #636c76; font-weight: 400; font-size: 0.85rem; }
pre { margin: 0; padding: 0.5rem 0.75rem; font: 13px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.code { background: #f0f3f6; border-left: 3px solid #d0d7de; }
pre.output { background: #f3f4f6; border-left: 3px solid #d0d7de; color: #1f2328; }
.status { font-size: 0.85rem; color: #636c76; padding: 0.2rem 0.75rem; }
.ok .status { color: #1a7f37; } .failed .status { color: #cf222e; font-weight: 600; }
table.hosts { border-collapse: collapse; margin: 0.3rem 0.75rem; font-size: 0.85rem; } table.hosts td, table.hosts th { padding: 0.1rem 0.6rem 0.1rem 0; text-align: left; } table.hosts tr.failed td { color: #cf222e; }
.ok pre.output { border-left-color: #1a7f37; } .failed pre.output { border-left-color: #cf222e; }
.prose { white-space: pre-wrap; } .note { color: #636c76; font-style: italic; }
`;

/** The transcript as one self-contained HTML file. */
export async function transcriptHtml(t: Transcript): Promise<string> {
  const name = basename(t.script);
  const sections: unknown[] = [];
  for (const { block, run, prose, where } of t.entries) {
    const end = outcome(run);
    const out = run?.output ? await render(run.output) : undefined;
    sections.push(html`${prose ? html`<div class="prose">${prose}</div>` : ''}
<section class="${end.state}">
<h2>${blockLabel(block) || `block ${block.index + 1}`} <span class="where">${where ?? `${name}:${block.lineStart}`}</span></h2>
<pre class="code">${block.code}</pre>
<div class="status">${end.text}</div>
${run?.hosts ? html`<table class="hosts"><tr><th>host</th><th>exit</th><th>duration</th><th>last line</th></tr>${run.hosts.map((h) => html`<tr class="${hostFailed(h) ? 'failed' : 'ok'}"><td>${hostName(h.target)}</td><td>${hostOutcome(h)}</td><td>${h.durationMs === undefined ? '' : formatDuration(h.durationMs)}</td><td>${hostFailed(h) ? h.lastLine : ''}</td></tr>`)}</table>` : ''}
${out ? html`${out.dropped ? html`<p class="note">… ${out.dropped} earlier lines (all of them: cmdrun history show ${run!.runId})</p>` : ''}<pre class="output">${raw(out.html)}</pre>` : ''}
</section>`);
  }
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · cmdrun transcript</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header><h1>${name}</h1><p>${t.script} · transcript written ${formatTime(t.createdAt)} by cmdrun ${t.version}</p></header>
${sections}
</body>
</html>
`;
  return String(await doc);
}

/** `text` fenced as a code block of `info`. */
const fenced = (text: string, info: string) => {
  const f = backtickFence(text);
  return `${f}${info}\n${text}${text.endsWith('\n') || !text ? '' : '\n'}${f}\n`;
};

/** The transcript as Markdown: per block a heading, the code (`sh`), the outcome, the output (`text`). */
export async function transcriptMarkdown(t: Transcript): Promise<string> {
  const name = basename(t.script);
  const parts = [`# ${name}\n\n${t.script} · transcript written ${formatTime(t.createdAt)} by cmdrun ${t.version}\n`];
  for (const { block, run, prose, where } of t.entries) {
    if (prose) parts.push(prose.endsWith('\n') ? prose : `${prose}\n`);
    const title = blockLabel(block) || `block ${block.index + 1}`;
    parts.push(`## ${title.replace(/[\\`*_[\]<>#]/g, (c) => `\\${c}`)} (${where ?? `${name}:${block.lineStart}`})\n`);
    parts.push(fenced(block.code, 'sh'));
    parts.push(`*${outcome(run).text}*\n`);
    if (run?.hosts) parts.push(hostTable(run.hosts));
    if (run?.output) {
      const out = await render(run.output);
      if (out.dropped) parts.push(`*… ${out.dropped} earlier lines (all of them: \`cmdrun history show ${run.runId}\`)*\n`);
      parts.push(fenced(out.text, 'text'));
    }
  }
  return parts.join('\n');
}

/** A fleet run's hosts as a Markdown table: host, outcome, duration, and a failure's last line. */
function hostTable(hosts: readonly TranscriptHost[]): string {
  const cell = (text: string) => text.replace(/[\\|`*_[\]<>]/g, (c) => `\\${c}`);
  const rows = hosts.map((h) => `| ${cell(hostName(h.target))} | ${hostOutcome(h)} | ${h.durationMs === undefined ? '' : formatDuration(h.durationMs)} | ${hostFailed(h) ? cell(h.lastLine) : ''} |`);
  return ['| host | exit | duration | last line |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

/** Transcript formats: `html` (one self-contained file) or `md` (Markdown). */
export type TranscriptFormat = 'html' | 'md';

/** The format a file name asks for (.html or .htm, .md or .markdown); undefined for others. */
export function formatOf(path: string): TranscriptFormat | undefined {
  if (/\.html?$/i.test(path)) return 'html';
  if (/\.(md|markdown)$/i.test(path)) return 'md';
  return undefined;
}

/** The transcript in `format`. */
export function writeTranscript(t: Transcript, format: TranscriptFormat): Promise<string> {
  return format === 'html' ? transcriptHtml(t) : transcriptMarkdown(t);
}
