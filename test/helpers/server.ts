import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { tempDir } from './tmp.js';

/** The built page (npm test builds it first, in pretest). */
export const WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Starts a real server on a free port for a fresh script in a temp folder. */
export async function startTestServer(content = 'echo hello\n'): Promise<RunningServer & { file: string; dir: string }> {
  const dir = tempDir('cmdrun-test-');
  const file = join(dir, 'script.sh');
  writeFileSync(file, content);
  const server = await startServer({ file, port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test' });
  return { ...server, file, dir };
}

/** fetch against the server with the token (and JSON content type when there is a body). */
export function api(server: RunningServer, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${server.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return fetch(server.origin + path, { ...init, headers, body });
}

/** A raw HTTP request to 127.0.0.1:port, so Host, Origin and body can be anything (fetch forbids some). */
export function raw(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
