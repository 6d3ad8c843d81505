// The sshd fixture is a real OpenSSH server: the ssh client logs in to it, gets a remote pty with
// -tt, fails as it should on an unknown host key or a closed port, and sees the link drop on kill().
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/** What an `ssh -F <config> ARGS` printed, and how it ended. */
interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ssh(sshd: Sshd, args: string[]): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', sshd.config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** True while `pid` is a live process (a zombie is dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

describe('the sshd fixture', () => {
  test('ssh logs in to it, over a connection from 127.0.0.1', async () => {
    const r = await ssh(sshd, [sshd.host, 'echo ok; echo "$SSH_CONNECTION"; id -un']);
    expect(r.code, `ssh: ${r.stderr}\nsshd: ${sshd.log()}`).toBe(0);
    expect(r.stderr).toBe('');
    const [ok, connection, user] = r.stdout.split('\n');
    expect(ok).toBe('ok');
    expect(connection).toMatch(new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${sshd.port}$`));
    expect(user).toBe(sshd.user);
  });

  test('sshCommand may be split by a shell', async () => {
    const child = spawn('sh', ['-c', `${sshd.sshCommand} ${sshd.host} echo split`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, out }).toEqual({ code: 0, out: 'split\n' });
  });

  test('ssh -tt -e none gets a remote pty with no local terminal', async () => {
    const r = await ssh(sshd, ['-tt', '-e', 'none', sshd.host, 'tty']);
    expect(r.code).toBe(0);
    // The remote pty turns \n into \r\n.
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
  });

  test('an unknown host key fails with status 255', async () => {
    const r = await ssh(sshd, [sshd.hostUnknown, 'echo should-not-run']);
    expect(r.code).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Host key verification failed');
  });

  test('a port nothing listens on fails with status 255, connection refused', async () => {
    const r = await ssh(sshd, [sshd.hostWrongPort, 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`port ${sshd.wrongPort}: Connection refused`);
  });
});

describe('kill() drops the link mid-command', () => {
  test.each([
    ['no pty', []],
    ['ssh -tt -e none', ['-tt', '-e', 'none']],
  ])('%s: ssh exits 255 within seconds and the remote command is gone', async (_name, flags) => {
    const killed = await startSshd();
    try {
      const child = spawn('ssh', ['-F', killed.config, ...flags, killed.host, 'sleep 30 & echo "up $!"; wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const sleepPid = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const match = /up (\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        closed.then((code) => reject(new Error(`ssh ended (${code}) before the command started: ${err}`)));
      });
      expect(alive(sleepPid)).toBe(true);
      const t0 = performance.now();
      killed.kill();
      const code = await closed;
      expect(code).toBe(255);
      expect(performance.now() - t0).toBeLessThan(15_000); // at once on a quiet machine; far under a keep-alive's 30 s
      // SIGKILL is sent; a loaded machine may take a moment to schedule the death.
      await waitFor(() => !alive(sleepPid), 'the death of the login\'s sleep');
      // And the server is down: a new login fails (reset, when it reached the backlog of a listener still dying).
      const again = await ssh(killed, [killed.host, 'true']);
      expect(again.code).toBe(255);
      expect(again.stderr).toMatch(/Connection refused|Connection reset by peer/);
    } finally {
      await killed.stop();
    }
  });
});
