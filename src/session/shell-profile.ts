/**
 * The shapes a shell profile (shells.ts) works with: where a session keeps its files, what its
 * startup file is told, what one block line does, how a shell is started, and the profile itself.
 */
/**
 * Where a session keeps its files, all in its private temp folder `dir`:
 * - `dir/run/NAME`: the block being run, NAME being the script's name as given when it is a plain
 *   relative path (`deploy.sh`, `ops/deploy.sh`), else its base name;
 * - `dir/check/BASE`: the syntax check's copy of it ({@link checkText});
 * - `dir/tty/NAME` (bash): a link to the terminal, the "script" bash reads its commands from.
 */
export interface SessionLayout {
  dir: string;
  /** The script's name as given (`./ops/deploy.sh`), as messages start with it. */
  scriptName: string;
  /** NAME above. */
  relName: string;
  /** The shell's first working directory (absolute); '' for the user's home (a remote default). */
  cwd: string;
  /**
   * True for a shell on another machine (remote.ts): blocks arrive over the terminal, encoded,
   * and `__cmdrun_get` (see getFunction) writes them to the block file before the block line; the
   * session leader removes `dir` when the shell ends.
   */
  remote?: boolean;
}

/** The block file, the check's copy and the tty link of a layout. */
export const layoutPaths = (l: SessionLayout) => ({
  block: `${l.dir}/run/${l.relName}`,
  check: `${l.dir}/check/${l.relName.slice(l.relName.lastIndexOf('/') + 1)}`,
  tty: `${l.dir}/tty/${l.relName}`,
});

/** Values the startup file needs. */
export interface RcContext extends SessionLayout {
  /** Id of the ready marker. */
  readyId: string;
  /** Environment variables the profile set to load its startup file, to restore for the user. */
  restore: Record<string, string | undefined>;
}

/** What one run line does. */
export interface RunStep {
  /** The file holding the block, padded with blank lines so line numbers are the script's. */
  file: string;
  /** Run this program on the file instead of sourcing it in the shell (no syntax check). */
  interpreter?: string;
  /** The padded block, for a remote shell: it is sent before the block line (remote.ts). */
  text?: string;
  /**
   * The block's standard input is /dev/null (end of input), not the terminal: a remote block with
   * no one to type into it (`cmdrun run` without a terminal), whose reads cannot be seen from here.
   */
  noInput?: boolean;
  /**
   * The block may set an INT trap of its own (ctrl-c.ts mayTrapInterrupt): from then on that
   * shell's Ctrl-Cs get no catch-up (ShellProcess.mayTrapInterrupt).
   */
  traps?: boolean;
}

/** How to start a shell: the program, arguments and working directory handed to the PTY. */
export interface Launch {
  file: string;
  args: string[];
  /** Default: the session's cwd. */
  cwd?: string;
}

/** How to drive one kind of shell. */
export interface ShellProfile {
  /** The shell's name as users write it (`bash`). */
  name: string;
  /** File name of the startup file in the session's temp folder. */
  rcName: string;
  /**
   * The session leader and the shell under it. `leaderId` goes into the `q` marker the leader
   * writes when the shell has ended.
   */
  launch(shell: string, rcPath: string, leaderId: string, layout: SessionLayout): Launch;
  /**
   * True when the shell runs jobs in process groups of their own (interactive zsh and dash); bash
   * runs as `bash script.sh` does, without job control, so its blocks and their jobs share its
   * process group (see ShellSession.interrupt).
   */
  jobControl: boolean;
  /** Written at the start of a block file's first line (bash: back to the session's cwd). */
  blockPrefix: string;
  /** A line typed into the shell right after it starts, or '' (bash: it writes the ready marker). */
  initLine: string;
  /** Environment variables that make the shell read the startup file in `dir`. */
  env(dir: string, rcPath: string): Record<string, string>;
  /** The startup file. */
  rc(ctx: RcContext): string;
  /** The one line typed into the shell to run a block under marker id `id`. */
  runLine(id: string, step: RunStep, layout: SessionLayout): string;
  /**
   * The function a `return` outside any function is replaced with (RunOptions.topLevelReturns),
   * so that it fails as in `bash script.sh` instead of ending the sourced block; none: left as is.
   */
  topLevelReturn?: string;
  /**
   * A Ctrl-C that reaches the shell just after it read a line abandons that line (dash, and the
   * ash family: its interactive INT handler unwinds to the command loop, which empties the input
   * buffer; dash's main.c). A terminal's read returns a line that arrived after the signal was
   * sent and before the read looked for one (Linux n_tty), and the handler runs only then: so a
   * Ctrl-C typed as a quick block ended could drop the next block line, which never started.
   * zsh drops it too (an interrupt at its prompt discards the line) once a block removed the
   * TRAPINT that makes cmdrun's zsh ignore a Ctrl-C between blocks (`trap - INT`).
   * With this set, the first line typed after a Ctrl-C is an empty one that takes the signal.
   */
  emptyLineAfterCtrlC?: boolean;
}
