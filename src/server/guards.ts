/**
 * Request guards that run before any route: Host and Origin checks (the DNS-rebinding and
 * cross-site defences of shared/notes/security.md), JSON-only bodies, and response headers.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/** True for the wildcard addresses that bind every interface. */
export const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

/**
 * Host header values the server answers to: loopback names with the bound port, and the bound
 * address itself; for a wildcard bind (0.0.0.0, ::), every address of this machine's interfaces
 * and its host name. Anything else is a rebinding attempt (or a misconfigured proxy) and gets 403.
 */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const names = ['127.0.0.1', 'localhost', '::1', boundHost.toLowerCase()];
  if (isWildcard(boundHost)) {
    names.push(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) names.push(info.address.toLowerCase());
  }
  return new Set(names.map((name) => (name.includes(':') ? `[${name}]:${port}` : `${name}:${port}`)));
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
  // Set on the response itself: c.header() would copy it, and a copy of an event stream's
  // "already sent" response (sse.ts) is one @hono/node-server would answer again.
  c.res.headers.set('Cache-Control', 'no-store');
};

/**
 * 401 unless the request has `Authorization: Bearer <token>` (RFC 6750 §2.1, §3: a wrong token is
 * `error="invalid_token"`). The token is compared in constant time (crypto.timingSafeEqual on
 * equal-length buffers; only a length mismatch answers early, and the length is no secret).
 */
export function bearerToken(token: string): MiddlewareHandler {
  const unauthorized = { error: 'unauthorized: send Authorization: Bearer TOKEN' };
  const expected = Buffer.from(token, 'utf8');
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    if (!/^Bearer [A-Za-z0-9._~+/-]+=*$/.test(header)) {
      return c.json(unauthorized, 401, { 'WWW-Authenticate': 'Bearer realm="cmdrun"' });
    }
    const given = Buffer.from(header.slice('Bearer '.length), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return c.json({ error: 'unauthorized: wrong token' }, 401, { 'WWW-Authenticate': 'Bearer realm="cmdrun", error="invalid_token"' });
    }
    await next();
  };
}

/**
 * The security headers of every response (README "Security"): CSP, X-Frame-Options DENY,
 * Referrer-Policy no-referrer, nosniff, and hono's other secureHeaders defaults.
 */
export const pageHeaders: MiddlewareHandler = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    connectSrc: ["'self'"],
    // CodeMirror and the output view set element styles from script (CSSOM), which CSP allows;
    // CodeMirror also injects <style> elements, which need 'unsafe-inline' for styles only.
    styleSrc: ["'self'", "'unsafe-inline'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  crossOriginEmbedderPolicy: false,
});

let streamHeaderValues: Promise<Record<string, string>> | undefined;

/**
 * The headers of an event stream written straight to Node's response (sse.ts), which the
 * middleware never sees: those {@link pageHeaders} and {@link noStore} give an API response, as
 * hono produces them (asked once of a small app), and the event stream's own.
 */
export function streamHeaders(): Promise<Record<string, string>> {
  streamHeaderValues ??= (async () => {
    const probe = new Hono();
    probe.use(pageHeaders, noStore);
    probe.get('/', (c) => c.body(null));
    const headers: Record<string, string> = Object.fromEntries((await probe.request('/')).headers);
    delete headers['content-type'];
    delete headers['content-length'];
    return { ...headers, 'content-type': 'text/event-stream', connection: 'keep-alive' };
  })();
  return streamHeaderValues;
}
