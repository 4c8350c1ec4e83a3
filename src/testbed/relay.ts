// Starting and stopping the controller relay (relay.js): unix socket in the run dir -> TCP controller.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep } from './exec.ts';
import { cmdline, isAlive, terminate } from './procs.ts';
import type { RelayInfo } from './state.ts';

export const RELAY_SCRIPT = fileURLToPath(new URL('./relay.js', import.meta.url));

/** Starts a detached relay listening on `socket` and forwarding to host:port; resolves once it listens. */
export async function startRelay(
  socket: string,
  host: string,
  port: number,
  logFile: string,
): Promise<RelayInfo> {
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  try {
    const child = spawn(process.execPath, [RELAY_SCRIPT, socket, host, String(port)], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined)
    throw new Error(`could not start the controller relay (${process.execPath} ${RELAY_SCRIPT})`);
  const deadline = Date.now() + 5000;
  while (!existsSync(socket)) {
    if (!isAlive(pid)) throw new Error(`controller relay exited at start; see ${logFile}`);
    if (Date.now() > deadline) {
      await terminate([pid]);
      throw new Error(`controller relay did not listen on ${socket} within 5 s; see ${logFile}`);
    }
    await sleep(10);
  }
  return { pid, socket, to: `${host}:${port}` };
}

/** Stops the relay if `pid` still is that relay (its command line names the socket). */
export async function stopRelay(relay: RelayInfo): Promise<void> {
  const c = cmdline(relay.pid);
  if (c?.includes(RELAY_SCRIPT) && c.includes(relay.socket)) await terminate([relay.pid]);
}
