/** How runs are shown to people, the same on the page, in the terminal and in transcripts. */
import stripAnsi from 'strip-ansi';

/** Formats a duration: ms under a second, then seconds, then m:ss. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A local date and time as `YYYY-MM-DD HH:MM:SS` (ISO 8601 order, the reader's time zone). */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A block's label: its title, else its first line that is not a comment (at most 70 characters). */
export function blockLabel(block: { title?: string; code: string }): string {
  const label = block.title || block.code.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'))?.trim() || '';
  return label.length > 70 ? `${label.slice(0, 69)}…` : label;
}

/** Plain text of raw terminal output: escape sequences removed, each `\r`-redrawn line's last state. */
export function plainText(raw: string): string {
  return stripAnsi(raw)
    .split('\n')
    .map((line) => {
      const trimmed = line.replace(/\r+$/, '');
      return trimmed.slice(trimmed.lastIndexOf('\r') + 1);
    })
    .join('\n')
    .replace(/\n+$/, '');
}
