/**
 * Request guards that run before any route: Host and Origin checks (the DNS-rebinding and
 * cross-site defences of shared/notes/security.md), JSON-only bodies, and response headers.
 */
import type { MiddlewareHandler } from 'hono';

/**
 * Host header values the server answers to: loopback names with the bound port, and the bound
 * address itself. Anything else is a rebinding attempt (or a misconfigured proxy) and gets 403.
 */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  hosts.add(boundHost.includes(':') ? `[${boundHost}]:${port}` : `${boundHost}:${port}`);
  return hosts;
}

/**
 * 403 unless Host is in `hosts()`, and, when the request has an Origin header, unless Origin is
 * exactly `http://<Host>`. `hosts` is a function so the port can be fixed after listening.
 */
export function hostAndOriginGuard(hosts: () => Set<string>): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host')?.toLowerCase();
    if (!host || !hosts().has(host)) return c.json({ error: 'forbidden: unexpected Host header' }, 403);
    const origin = c.req.header('origin');
    if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
      return c.json({ error: 'forbidden: cross-origin request' }, 403);
    }
    await next();
  };
}

/** 415 for a request with a body that is not `application/json` (methods other than GET/HEAD). */
export const jsonOnly: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const type = c.req.header('content-type')?.split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      return c.json({ error: 'unsupported media type: send Content-Type: application/json' }, 415);
    }
  }
  await next();
};

/** `Cache-Control: no-store` on API responses: they carry script contents and output. */
export const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
};
