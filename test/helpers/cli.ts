import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The launcher users run (`npx cmdrun` runs the same file). */
export const BIN = fileURLToPath(new URL('../../bin/cmdrun.js', import.meta.url));

/** A CLI process serving a notebook, with the URL it printed. */
export interface Served {
  child: ChildProcess;
  url: string;
  origin: string;
  token: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Starts `cmdrun ARGS --no-browser --port 0` (with `env` added) and waits for the URL line (10 s at most). */
export function serveCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [BIN, ...args, '--no-browser', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after 10 s; stderr: ${err}`)), 10_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const match = /cmdrun: (http:\/\/\S+\/#token=(\S+))\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1], origin: new URL(match[1]).origin, token: match[2], stdout: () => out, stderr: () => err, exited });
      }
    });
    exited.then((code) => reject(new Error(`cmdrun exited with ${code} before listening: ${err}`)));
  });
}

/** Runs the CLI (with `env` added) to completion and returns its exit status and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
