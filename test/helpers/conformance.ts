// The session conformance suite (issue 1, 15, 20): each case is a block run through a real shell
// session, with its expected output and exit status. Cases run in order in one session per shell,
// so state carries from case to case as it does for a user. test/session/conformance.test.ts runs
// it on this machine and over ssh; test/session/container-conformance.test.ts in containers.
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import type { BlockResult, ShellSession } from '../../src/session/session.js';
import { tempDir } from './tmp.js';

/** The shells the cases are written for (a container's busybox `sh` runs dash's cases). */
export type Shell = 'bash' | 'zsh' | 'dash';
export const SHELLS: Shell[] = ['bash', 'zsh', 'dash'];

export function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type Expect<T> = T | ((value: T) => boolean);

export interface Case {
  name: string;
  code: string | ((shell: Shell) => string);
  only?: Shell[];
  output?: string | RegExp | ((output: string, shell: Shell) => boolean);
  exitCode?: Expect<number> | Partial<Record<Shell, number>>;
  interrupted?: boolean;
  restarted?: boolean;
  /**
   * Interrupt once the block has printed this text (so the program it starts is running, however
   * slow the machine), or once it is reported `waiting` for input.
   */
  interruptWhen?: string | { waiting: true };
  /** How many interrupts to send then, one right after the other (default 1). */
  interrupts?: number;
  /** Text to type each time the block is reported waiting for input, in order. */
  inputs?: string[];
  lineStart?: number;
  cols?: number;
  /** Local sessions only: a remote one closes the connection on a second interrupt (state is gone). */
  localOnly?: boolean;
  /** Programs the case runs besides the shell and a POSIX userland (the test containers have busybox only). */
  needs?: string[];
  /**
   * What busybox's ash (a container's `sh`, run with dash's cases) prints instead, or the exit
   * status it may end with instead (checked with the output), and why.
   */
  busybox?: { output?: (output: string) => boolean; exitCode?: (code: number, output: string) => boolean; why: string };
}

/** The folder the cases write their files in (removed after the file; made by the suite on another machine). */
export const T = tempDir('cmdrun-conformance-');

const lines = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
const nonZero = (code: number) => code !== 0;

export const CASES: Case[] = [
  // Output and exit statuses.
  { name: 'echo', code: 'echo hello', output: 'hello\n', exitCode: 0 },
  { name: 'false is 1', code: 'false', output: '', exitCode: 1 },
  { name: 'subshell exit status', code: '(exit 42)', exitCode: 42 },
  { name: 'command not found is 127', code: 'nosuch_command_xyz 2>/dev/null', exitCode: 127 },
  { name: 'status of the last command', code: 'false; true', exitCode: 0 },
  { name: 'top-level return', code: 'return 3', exitCode: 3 },
  { name: 'output without trailing newline', code: "printf 'no newline'", output: 'no newline' },
  { name: 'stdout and stderr in the order written', code: 'echo out1; echo err1 >&2; echo out2', output: 'out1\nerr1\nout2\n' },
  { name: 'a 5,000-character line', code: "printf '%5000s\\n' '' | tr ' ' x", output: `${'x'.repeat(5000)}\n` },
  { name: '100,000 lines in order', code: 'seq 1 100000', output: lines(100000) },
  { name: 'unicode', code: "printf 'héllo wörld 😀 中文\\n'", output: 'héllo wörld 😀 中文\n' },
  { name: 'invalid UTF-8 becomes replacement characters', code: "printf 'a\\377\\376b\\n'", output: 'a\ufffd\ufffdb\n' },
  { name: 'binary output does not break the session', code: 'head -c 4000 /dev/urandom; echo', exitCode: 0 },
  { name: 'three megabytes of output arrive whole', code: "head -c 3000000 /dev/zero | tr '\\0' x", output: (o) => o.length === 3_000_000 && /^x+$/.test(o) },
  { name: 'output streams while the block runs', code: 'echo first; sleep 0.2; echo second', output: 'first\nsecond\n' },
  { name: 'a heredoc', code: 'cat <<EOF\nline one\n\nline three\nEOF', output: 'line one\n\nline three\n' },
  { name: 'a function with blank lines, defined and called', code: 'twice() {\n  echo "$1"\n\n  echo "$1"\n}\ntwice hey', output: 'hey\nhey\n' },
  // Spoofing.
  { name: 'marker-like text with another id is output', code: "printf '\\033]6973;e;AAAAAAAAAAAAAAAA;0;/x\\007'; echo after; (exit 4)", output: '\x1b]6973;e;AAAAAAAAAAAAAAAA;0;/x\x07after\n', exitCode: 4 },
  { name: 'a ready marker and a start marker printed by the block are output', code: "printf '\\033]6973;r;zz\\007\\033]6973;s;zz\\007ok\\n'", output: '\x1b]6973;r;zz\x07\x1b]6973;s;zz\x07ok\n' },
  { name: 'prompt-like text', code: "echo '$ '; echo 'user@host:~$ '; echo '> '; echo '% '", output: '$ \nuser@host:~$ \n> \n% \n' },
  { name: 'escape sequences pass through', code: "printf '\\033[31mred\\033[0m \\033]0;title\\007\\033[2K\\r\\033[1Aup\\n'", output: '\x1b[31mred\x1b[0m \x1b]0;title\x07\x1b[2K\r\x1b[1Aup\n' },
  // State.
  { name: 'cd', code: 'cd /usr', exitCode: 0 },
  { name: 'cd persists', code: 'pwd', output: '/usr\n' },
  { name: 'variables', code: 'plain=1; export EXPORTED=2', exitCode: 0 },
  { name: 'variables persist, exported ones reach children', code: 'echo "$plain"; sh -c \'echo "$EXPORTED"\'', output: '1\n2\n' },
  { name: 'functions', code: 'greet() { echo "hi $1"; }', exitCode: 0 },
  { name: 'functions persist', code: 'greet you', output: 'hi you\n' },
  { name: 'aliases', code: "alias say='echo said'", exitCode: 0 },
  { name: 'aliases persist', code: 'say it', output: 'said it\n' },
  { name: 'environment: TERM and PAGER', code: 'echo "$TERM $PAGER"', output: 'xterm-256color cat\n' },
  { name: 'a pager command does not page', code: "printf 'a\\nb\\n' | $PAGER", output: 'a\nb\n' },
  { name: 'the terminal width follows cols', code: 'stty size', cols: 100, output: /^\d+ 100\n$/ },
  // Syntax errors.
  { name: 'a syntax error is an exit status and runs nothing', code: 'echo should-not-run\nfi', output: (o) => !o.includes('should-not-run') && /syntax|parse|unexpected/i.test(o), exitCode: nonZero },
  { name: 'an unterminated quote', code: 'echo "open', exitCode: nonZero, output: /unmatched|unexpected|unterminated/i },
  { name: 'the block after a syntax error runs normally', code: 'echo fine', output: 'fine\n', exitCode: 0, restarted: false },
  { name: '$LINENO is the script line', code: 'echo "$LINENO"', lineStart: 12, output: '12\n', only: ['bash', 'zsh'] },
  // The check runs in the session: it sees options and aliases that earlier blocks set.
  { name: 'extended globs turned on in one block', code: (s) => (s === 'zsh' ? `setopt ksh_glob; mkdir -p ${T}/glob/a/b; touch ${T}/glob/x.sh ${T}/glob/y.md ${T}/glob/a/b/z.sh` : `shopt -s extglob globstar; mkdir -p ${T}/glob/a/b; touch ${T}/glob/x.sh ${T}/glob/y.md ${T}/glob/a/b/z.sh`), only: ['bash', 'zsh'], exitCode: 0 },
  { name: 'parse in the next block', code: `cd ${T}/glob && echo @(x|y).* && echo !(*.md|a); cd /usr`, only: ['bash', 'zsh'], output: 'x.sh y.md\nx.sh\n', exitCode: 0 },
  { name: 'globstar from an earlier block', code: `echo ${T}/glob/**/*.sh`, only: ['bash'], output: `${T}/glob/a/b/z.sh ${T}/glob/x.sh\n` },
  { name: 'an alias that opens a loop, defined in one block', code: "alias forall='for f in 1 2; do'", only: ['bash'], exitCode: 0 },
  { name: 'is parsed with the alias in the next', code: 'forall echo "n$f"; done', only: ['bash'], output: 'n1\nn2\n', exitCode: 0 },
  { name: 'extended globs turned off again', code: 'shopt -u extglob', only: ['bash'], exitCode: 0 },
  // The check parses as bash -O extglob (a later line may follow a `shopt -s extglob`): as in
  // `bash script.sh`, the lines before the pattern run, and bash's syntax error stops it there.
  { name: 'a pattern after extglob was turned off: bash\'s syntax error at the script\'s line, after the lines before it', code: 'echo runs-first\necho @(x|y)\necho never', lineStart: 20, only: ['bash'], output: "runs-first\nconformance.sh: line 21: syntax error near unexpected token `('\nconformance.sh: line 21: `echo @(x|y)'\n", exitCode: 2 },
  { name: 'a real syntax error with extglob off: the script\'s line, nothing runs', code: 'echo should-not-run\nif then fi', lineStart: 20, only: ['bash'], output: "conformance.sh: line 21: syntax error near unexpected token `then'\nconformance.sh: line 21: `if then fi'\n", exitCode: 2 },
  // The user's environment.
  { name: 'PS1 and PS2 set by a block', code: "PS1='my prompt $ '; PS2='> '; echo set", output: 'set\n' },
  { name: 'the block after a PS1 change ends with its status', code: 'echo next; (exit 5)', output: 'next\n', exitCode: 5 },
  { name: 'PROMPT_COMMAND replaced', code: "PROMPT_COMMAND='echo from-prompt'", only: ['bash'], exitCode: 0 },
  { name: 'precmd hooks replaced', code: 'precmd_functions=(); precmd() { echo from-precmd; }', only: ['zsh'], exitCode: 0 },
  { name: 'blocks still end after the prompt hook was replaced', code: 'echo still; (exit 6)', exitCode: 6, output: 'still\n' },
  { name: 'prompt settings reset', code: (s) => (s === 'bash' ? "PS1=''; PROMPT_COMMAND=" : s === 'zsh' ? "PS1=''; unfunction precmd" : "PS1=''"), exitCode: 0 },
  { name: 'set -u: an unset variable fails the block', code: 'set -u; echo "$definitely_unset_var"', exitCode: nonZero, output: /definitely_unset_var|parameter not set/ },
  { name: 'set -u: later blocks run', code: 'set +u; plain=1; echo ok', output: 'ok\n', exitCode: 0 },
  // As `bash script.sh`: the error stops the shell (its state is gone), with bash's message and status.
  { name: 'set -u: an unbound variable stops the block at that line', only: ['bash'], code: 'set -u\necho "$nope"\necho not-reached', lineStart: 7, output: 'conformance.sh: line 8: nope: unbound variable\n', exitCode: 1, restarted: true },
  { name: 'a failed ${x:?} stops the block at that line', only: ['bash'], code: 'echo "${x:?x is required}"\necho not-reached', output: 'conformance.sh: line 1: x: x is required\n', exitCode: 1, restarted: true },
  { name: 'state is set again after the shell stopped', code: 'plain=1; echo ok', output: 'ok\n', exitCode: 0, restarted: false },
  { name: 'set -o vi', code: 'set -o vi; echo vi', only: ['bash', 'zsh'], output: 'vi\n' },
  { name: 'blocks run after set -o vi', code: 'echo after-vi; (exit 2)', only: ['bash', 'zsh'], output: 'after-vi\n', exitCode: 2 },
  { name: 'a user EXIT trap', code: "trap 'echo bye' EXIT; echo trapped", output: 'trapped\n', exitCode: 0 },
  { name: 'a DEBUG trap', code: "trap ':' DEBUG; echo debug", only: ['bash'], output: 'debug\n' },
  { name: 'an ERR trap', code: "trap 'echo caught' ERR; false", only: ['bash', 'zsh'], output: 'caught\n', exitCode: 1 },
  { name: 'traps removed', code: (s) => (s === 'dash' ? 'trap - EXIT' : 'trap - EXIT ERR; trap - DEBUG 2>/dev/null; true'), exitCode: 0 },
  { name: 'exec > file 2>&1 hides output but the block ends', code: `exec 3>&1 4>&2 >${T}/conformance.out 2>&1; echo hidden; (exit 3)`, output: '', exitCode: 3 },
  { name: 'output restored after exec', busybox: { output: (o) => o.startsWith('hidden\n'), why: "ash's line editor echoes the typed lines to its stdout: the file holds them too" }, code: `exec 1>&3 2>&4 3>&- 4>&-; cat ${T}/conformance.out; rm -f ${T}/conformance.out`, output: 'hidden\n' },
  {
    name: 'a virtualenv/conda-like activate script',
    code: (s) =>
      `cat > ${T}/activate.sh <<'EOF'\nVIRTUAL_ENV=/tmp/venv; export VIRTUAL_ENV\n_OLD_PS1="$PS1"; PS1="(venv) $PS1"\n${s === 'bash' ? 'PROMPT_COMMAND="__conda_hook;${PROMPT_COMMAND:-}"; __conda_hook() { :; }\n' : ''}deactivate() { unset VIRTUAL_ENV; PS1="$_OLD_PS1"; }\nEOF\n. ${T}/activate.sh; echo "$VIRTUAL_ENV"`,
    output: '/tmp/venv\n',
  },
  { name: 'blocks after activate', code: 'deactivate; echo "${VIRTUAL_ENV:-none}"; (exit 7)', output: 'none\n', exitCode: 7 },
  // Job notices ("[1] + Done") are part of the output where the shell prints them, as in a terminal.
  { name: 'background job and wait', code: 'sleep 0.2 & wait $!; echo waited', output: /waited\n/, exitCode: 0 },
  { name: 'a background job started in one block', code: 'sleep 0.3 & bgpid=$!', exitCode: 0 },
  { name: 'is waited for in the next', code: 'wait $bgpid; echo "status $?"', output: /status 0\n/ },
  // Input.
  { name: 'read a line', code: 'read -r name; echo "hello $name"', inputs: ['Ada\r'], output: 'Ada\nhello Ada\n' },
  { name: 'a [y/N] prompt', code: 'printf "Continue? [y/N] "; read -r a; [ "$a" = y ] && echo yes', inputs: ['y\r'], output: 'Continue? [y/N] y\nyes\n', exitCode: 0 },
  { name: 'cat until end of input', code: 'cat', inputs: ['one\rtwo\r\x04'], output: 'one\ntwo\none\ntwo\n', exitCode: 0 },
  { name: 'python input()', needs: ['python3'], code: 'python3 -c "print(input().upper())"', inputs: ['shout\r'], output: 'shout\nSHOUT\n' },
  { name: 'a password is not echoed', code: 'stty -echo; read -r pw; stty echo; echo "got ${#pw} chars"', inputs: ['secret\r'], output: (o) => !o.includes('secret') && o.endsWith('got 6 chars\n') },
  // Interrupt.
  { name: 'interrupt sleep', code: "echo start; sh -c 'echo running; exec sleep 30'; echo not-reached", interruptWhen: 'running', interrupted: true, exitCode: 130, output: (o) => o.startsWith('start\n') && !o.includes('not-reached') },
  { name: 'state survives an interrupt', code: 'echo "$plain"', output: '1\n', restarted: false },
  {
    name: 'interrupt a pure shell loop',
    code: 'echo ready; while :; do :; done',
    interruptWhen: 'ready',
    interrupted: true,
    exitCode: 130,
    busybox: {
      exitCode: (c, o) => c === 130 || (c === 137 && o.includes(' hung (blocked for good on a lock of its own, as busybox sh can be after Ctrl-C) and was killed;')),
      why: "busybox ash hangs for good on a few Ctrl-Cs in a hundred in a pure shell loop (its SIGINT handler longjmps out of libc with a lock taken): the session's watcher kills it, and says so",
    },
  },
  { name: 'interrupt a pipeline', code: "yes | sh -c 'echo ready; exec grep y > /dev/null'", interruptWhen: 'ready', interrupted: true, exitCode: 130 },
  { name: 'interrupt cat waiting on input', code: 'cat', interruptWhen: { waiting: true }, interrupted: true, exitCode: 130 },
  { name: 'interrupt a python loop', needs: ['python3'], code: 'python3 -c "print(\'ready\', flush=True)\nwhile True: pass"', interruptWhen: 'ready', interrupted: true, exitCode: 130 },
  { name: 'a second interrupt kills a job that ignores SIGINT', code: "(trap '' INT; echo ready; exec sleep 30)", interruptWhen: 'ready', interrupts: 2, interrupted: true, exitCode: (c) => c === 137 || c === 130, restarted: false, localOnly: true },
  { name: 'the session still works after escalation', code: 'echo "$plain"', output: '1\n', localOnly: true },
  // Blocks that end the shell.
  { name: 'exit 7', code: 'exit 7', exitCode: 7, restarted: true },
  { name: 'state is gone after a restart', code: 'echo "${plain:-gone}"; pwd', output: (o) => o.startsWith('gone\n') },
  { name: 'kill -9 $$', code: 'kill -9 $$', exitCode: 137, restarted: true },
  { name: 'exec replaces the shell', code: 'exec true', exitCode: 0, restarted: true },
  { name: 'set -e then a failing command', code: 'set -e; false', exitCode: 1, restarted: true },
  { name: 'output right before exit is not lost', code: 'seq 1 3000; exit 3', output: lines(3000), exitCode: 3, restarted: true },
  { name: 'output of a user EXIT trap is not lost', code: "trap 'seq 1 3000' EXIT; exit 4", output: lines(3000), exitCode: 4, restarted: true },
  { name: 'output right before exec is not lost', code: 'seq 1 3000; exec true', output: lines(3000), exitCode: 0, restarted: true },
  { name: 'output right before kill -9 $$ is not lost', code: 'seq 1 3000; kill -9 $$', output: lines(3000), exitCode: 137, restarted: true },
  { name: 'a fresh shell takes the next block', code: 'echo fresh', output: 'fresh\n', exitCode: 0, restarted: false },
];

/**
 * Where a suite runs: `remote` skips the local-only cases; `has` says whether a program of
 * Case.needs is there; `busybox`: the shell is busybox's ash (Case.notBusybox).
 */
export interface SuiteOptions {
  remote: boolean;
  has?: (program: string) => boolean;
  busybox?: boolean;
}

/**
 * Registers one test per case of {@link CASES} for `shell` (inside the caller's describe), run in
 * order through `session()`, the session its beforeAll started.
 */
export function conformanceCases(shell: Shell, session: () => ShellSession, { remote, has = () => true, busybox = false }: SuiteOptions): void {
  for (const c of CASES) {
    if (c.only && !c.only.includes(shell)) continue;
    if (c.localOnly && remote) continue;
    if (c.needs && !c.needs.every(has)) continue;
    test(c.name, async () => {
      let output = '';
      const inputs = [...(c.inputs ?? [])];
      let interrupted = false;
      const interrupt = () => {
        if (interrupted) return;
        interrupted = true;
        for (let i = 0; i < (c.interrupts ?? 1); i++) session().interrupt();
      };
      const result: BlockResult = await session().run(typeof c.code === 'function' ? c.code(shell) : c.code, {
        lineStart: c.lineStart,
        cols: c.cols,
        onOutput: (text) => {
          output += text;
          if (typeof c.interruptWhen === 'string' && output.includes(c.interruptWhen)) interrupt();
        },
        onWaiting: () => {
          if (typeof c.interruptWhen === 'object') interrupt();
          const next = inputs.shift();
          if (next !== undefined) session().input(next);
        },
      });
      const wantedOutput = busybox && c.busybox?.output ? c.busybox.output : c.output;
      if (typeof wantedOutput === 'string') expect(output).toBe(wantedOutput);
      else if (wantedOutput instanceof RegExp) expect(output).toMatch(wantedOutput);
      else if (wantedOutput) expect(wantedOutput(output, shell), `output was ${JSON.stringify(output.slice(0, 300))}`).toBe(true);
      const busyboxCode = busybox ? c.busybox?.exitCode : undefined;
      const wanted = busyboxCode ? (code: number) => busyboxCode(code, output) : typeof c.exitCode === 'object' ? c.exitCode[shell] : c.exitCode;
      if (typeof wanted === 'number') expect(result.exitCode).toBe(wanted);
      else if (typeof wanted === 'function') expect(wanted(result.exitCode), `exit code ${result.exitCode}`).toBe(true);
      if (c.interrupted !== undefined) expect(result.interrupted).toBe(c.interrupted);
      if (c.restarted !== undefined) expect(result.sessionRestarted).toBe(c.restarted);
      expect(inputs).toEqual([]); // every input was asked for
    });
  }
}
