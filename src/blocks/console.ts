/**
 * The commands of a terminal transcript (a `console`, `shell-session` or `sh-session` fence, as
 * GitHub shows them, or a shell fence written as one, as Runme runbooks do): the lines after a `$ `
 * prompt and the lines continuing them; every other line is example output and does not run. No I/O; whether a command continues is decided by the bash parser the
 * caller passes in (parser.ts: tree-sitter-bash), never by counting quotes.
 */

/**
 * True when `code` is an incomplete command that bash would ask more lines for (its PS2 prompt):
 * an open quote, a heredoc without its end line, a trailing `\`, an unfinished `if`/`for`/`(`.
 */
export type IsIncomplete = (code: string) => boolean;

/** The primary prompt of a transcript line (bash's default PS1 ends in `$ `). */
const PROMPT = '$ ';
/** bash's default PS2, shown before continuation lines; removed when a transcript has it. */
const CONTINUATION_PROMPT = '> ';

/**
 * True when a shell fence (`sh`, `bash`, ...) is written as a terminal transcript and runs as one
 * (consoleCommands): its first line that is neither blank nor a `#` comment starts with `$ `.
 * The prompt test is Runme's (runmedev/runme runner/client `prepareCommandSeq`: a line starting
 * with `$ `, at the line's start, loses those two characters; its CLI testdata writes `$ ` before
 * the commands of `sh` and `bash` fences). A shell line that starts with `$ ` would run a command
 * named `$` (status 127), so no working script is read as a transcript. Indented lines and a `$`
 * without a space (`$HOME/bin/setup`) are no prompt.
 * @param lines the fence's code lines (fence indentation and container markup removed)
 */
export function isTranscript(lines: readonly string[]): boolean {
  const first = lines.find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  return first !== undefined && first.startsWith(PROMPT);
}

/**
 * Picks the command lines of a transcript.
 * - A line starting with `$ ` is a command (the `$ ` removed); a line that is only `$` is none.
 * - While the command so far is incomplete (`isIncomplete`), the next line continues it (a leading
 *   `> `, bash's PS2, removed), unless that line starts with `$ `: a new prompt ends it.
 * - Every other line is output: it is returned as `null`.
 * @param lines the transcript's lines, in order
 * @returns one entry per line: the command text of that line, or null for output
 */
export function consoleCommands(lines: readonly string[], isIncomplete: IsIncomplete): (string | null)[] {
  const result: (string | null)[] = [];
  let command: string[] | undefined; // the lines of the command being read, while it is incomplete
  for (const line of lines) {
    if (line.startsWith(PROMPT)) {
      command = [line.slice(PROMPT.length)];
    } else if (command) {
      command.push(line.startsWith(CONTINUATION_PROMPT) ? line.slice(CONTINUATION_PROMPT.length) : line);
    } else {
      result.push(null);
      continue;
    }
    result.push(command.at(-1)!);
    if (!isIncomplete(command.join('\n'))) command = undefined;
  }
  return result;
}
