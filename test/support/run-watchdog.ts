import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

/** What the watchdog is to clean up should the run end without its teardown. */
export interface WatchdogNotice {
  /** The embedded PostgreSQL's temporary directory: the server is stopped, the directory removed. */
  dataDir?: string;
  /** The databases named `<prefix>_…` on the server at `serverUrl` are dropped. */
  serverUrl?: string;
  prefix?: string;
}

/**
 * The process (test/support/run-watchdog-process.mjs) that cleans up after an e2e run whose Jest
 * process ended without its global teardown: Ctrl-C, a crash, SIGKILL. It learns what to clean
 * up through a pipe whose end tells it that this process has ended.
 */
export class RunWatchdog {
  private constructor(
    readonly child: ChildProcess,
    private readonly input: Writable,
  ) {}

  /**
   * Starts a watchdog of this process. Its messages go to this process's standard error
   * unless `stderr` is `pipe` (tests read them from `child.stderr`).
   */
  static async start(
    rootDir: string,
    stderr: 'inherit' | 'pipe' = 'inherit',
  ): Promise<RunWatchdog> {
    const child = spawn(
      process.execPath,
      [join(rootDir, 'test', 'support', 'run-watchdog-process.mjs')],
      {
        // A session of its own: the terminal's Ctrl-C goes to Jest's process group, not to it.
        detached: true,
        stdio: ['pipe', 'ignore', stderr],
      },
    );
    await once(child, 'spawn');
    const input = child.stdin!;
    // Neither the watchdog nor the pipe to it keeps Jest running once the tests are over.
    child.unref();
    (input as Socket).unref();
    input.on('error', (error) => {
      process.stderr.write(
        `The e2e run's watchdog is gone (${error.message}): a run stopped by Ctrl-C may leave its PostgreSQL behind\n`,
      );
    });
    return new RunWatchdog(child, input);
  }

  watch(notice: WatchdogNotice): void {
    this.input.write(`${JSON.stringify(notice)}\n`);
  }

  /** The teardown did the work itself: the watchdog ends, touching nothing. */
  done(): void {
    this.input.end(`${JSON.stringify({ done: true })}\n`);
  }
}
