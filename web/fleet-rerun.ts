/**
 * Re-run failed (a fleet panel's button, a fleet block's ⋯ menu): one request,
 * POST /api/runs/:runId/rerun-failed, makes a new fleet run of the same code on the hosts of run
 * `runId` that failed, were interrupted or could not be reached; its panel takes the old one's place.
 */
import type { Api } from './api.js';
import type { PageRun } from './runs.js';

/** What a re-run needs of the page. */
export interface RerunDeps {
  api: Api;
  /** A new panel for run `runId` in the place of `old`'s panel (under its block, or apart). */
  panelInPlaceOf(old: PageRun, runId: string): PageRun;
  /**
   * Runs `post` after the page's other posts (the server queues runs in the order asked) and
   * follows the run it resolves with.
   */
  enqueue(post: () => Promise<PageRun | undefined>): void;
  /** Says something in the status bar. */
  say(message: string): void;
}

/**
 * Re-runs the failed hosts of `old`. The server chooses the new run's id, so its panel is made once
 * the server answered; a refusal (say, no host failed) is said in the status bar.
 */
export function rerunFailed(deps: RerunDeps, old: PageRun): void {
  deps.enqueue(async () => {
    try {
      const { runId } = await deps.api.json<{ runId: string }>('POST', `/api/runs/${encodeURIComponent(old.runId)}/rerun-failed`, { cols: old.view.cols });
      return deps.panelInPlaceOf(old, runId);
    } catch (err) {
      deps.say(`Re-run failed: ${(err as Error).message}`);
      return undefined;
    }
  });
}
