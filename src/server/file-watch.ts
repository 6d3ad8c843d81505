/**
 * Watching the opened script for changes made by other programs (another editor, `git checkout`),
 * and streaming them to pages as Server-Sent Events (GET /api/file/events).
 */
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Context } from 'hono';
import type { FileState, ScriptFile } from './script-file.js';
import { PING_MS, RETRY_MS, eventStream, frame } from './sse.js';

/** Options of {@link FileWatcher}; the defaults suit the server. */
export interface FileWatchOptions {
  /** Delay between a file system event and the check it triggers, coalescing bursts (ms; default 100). */
  debounceMs?: number;
  /** Polling interval when `fs.watch` is unavailable (ms; default 1000). */
  pollMs?: number;
  /** `fs.watch`, replaceable in tests (e.g. by one that throws ENOSPC). */
  watch?: typeof watch;
}

/**
 * Watches a {@link ScriptFile} and tells subscribers when another program changes it: its
 * (mtimeMs, size) differs from the state the server last read or wrote, including appearing and
 * disappearing (state null). The server's own saves are not reported (ScriptFile records them).
 *
 * It watches the file's parent directory, not the file: editors and git replace a file by renaming
 * another over it, which a watch on the old inode would miss. Events for other names are ignored;
 * an event without a name just triggers a check. When `fs.watch` fails (ENOSPC, a file system
 * without notifications, the directory removed) it polls with `fs.watchFile` instead.
 */
export class FileWatcher {
  private readonly subscribers = new Set<(state: FileState) => void>();
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly watchFn: typeof watch;
  private watcher: FSWatcher | undefined;
  private polling = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;
  private closed = false;

  /** Starts watching `file` at once and records its current state. */
  constructor(
    private readonly file: ScriptFile,
    options: FileWatchOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 100;
    this.pollMs = options.pollMs ?? 1000;
    this.watchFn = options.watch ?? watch;
    file.onExternalChange = (state) => {
      for (const listener of this.subscribers) listener(state);
    };
    const name = basename(file.path);
    try {
      this.watcher = this.watchFn(dirname(file.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) this.schedule();
      });
      this.watcher.on('error', () => this.poll());
    } catch {
      this.poll();
    }
    this.schedule(0);
  }

  /** True when it fell back to polling with `fs.watchFile`. */
  get isPolling(): boolean {
    return this.polling;
  }

  /** How many subscribers listen now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Calls `listener` with the new state (null: deleted) after each external change.
   * @returns a function that unsubscribes
   */
  subscribe(listener: (state: FileState) => void): () => void {
    const entry = (state: FileState) => listener(state);
    this.subscribers.add(entry);
    return () => this.subscribers.delete(entry);
  }

  /** Stops watching and drops every subscriber; resolves once a check under way has finished. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    if (this.polling) unwatchFile(this.file.path, this.onPoll);
    this.subscribers.clear();
    this.file.onExternalChange = undefined;
    await this.checking;
  }

  private readonly onPoll = () => this.schedule();

  private poll(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.polling || this.closed) return;
    this.polling = true;
    watchFile(this.file.path, { interval: this.pollMs, persistent: false }, this.onPoll);
    this.schedule();
  }

  /** Checks `delayMs` after the first of a burst of events; one check at a time. */
  private schedule(delayMs = this.debounceMs): void {
    if (this.closed) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.checking = this.file
        .check()
        .catch(() => undefined) // e.g. EACCES: keep the last state, try again on the next event
        .finally(() => {
          this.checking = undefined;
          if (this.recheck) {
            this.recheck = false;
            this.schedule();
          }
        });
    }, delayMs);
  }
}

/**
 * GET /api/file/events: `retry` first, then `event: change` with `{"mtimeMs": number|null}` after
 * each external change (changes the client has not read yet are coalesced into the latest), a
 * `: ping` comment when idle for {@link PING_MS}, and a final `event: shutdown` when `shutdown`
 * aborts. A client that goes away is unsubscribed.
 */
export function streamFileChanges(c: Context, watcher: FileWatcher, shutdown: AbortSignal): Response {
  return eventStream(c, shutdown, async (send, stop) => {
    let pending: { mtimeMs: number | null } | undefined;
    let wake: (() => void) | undefined;
    const unsubscribe = watcher.subscribe((state) => {
      pending = { mtimeMs: state?.mtimeMs ?? null };
      wake?.();
    });
    stop.addEventListener('abort', () => wake?.());
    try {
      // Subscribed before this first line: a client that has read it misses no change after.
      await send(`retry: ${RETRY_MS}\n\n`);
      while (!stop.aborted) {
        if (!pending) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const change = pending;
        pending = undefined;
        await send(frame('change', change));
      }
    } finally {
      unsubscribe();
    }
  });
}
