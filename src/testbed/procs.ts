// Processes and namespaces as seen through /proc and /run/netns (no external commands).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { sleep } from './exec.ts';

export const NETNS_DIR = '/run/netns';

export function namespaceExists(ns: string): boolean {
  return existsSync(`${NETNS_DIR}/${ns}`);
}

/** Alive = exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The process's command line (arguments joined by spaces), or undefined when it is gone. */
export function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Live processes whose network namespace is one of `namespaces` (like `ip netns pids`, in one pass). */
export function pidsInNamespaces(namespaces: readonly string[]): Map<string, number[]> {
  const byInode = new Map<string, string>();
  const out = new Map<string, number[]>();
  for (const ns of namespaces) {
    try {
      const st = statSync(`${NETNS_DIR}/${ns}`);
      byInode.set(`${st.dev}:${st.ino}`, ns);
      out.set(ns, []);
    } catch {}
  }
  if (byInode.size === 0) return out;
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      const st = statSync(`/proc/${pid}/ns/net`);
      const ns = byInode.get(`${st.dev}:${st.ino}`);
      if (ns && isAlive(pid)) out.get(ns)!.push(pid);
    } catch {}
  }
  return out;
}

/** Live processes whose command line contains `needle` (e.g. a run directory). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const c = cmdline(pid);
    if (c?.includes(needle) && isAlive(pid)) out.push(pid);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

/** SIGTERM, wait up to graceMs for them to go, then SIGKILL the rest. Resolves to the pids killed hard. */
export async function terminate(pids: readonly number[], graceMs = 2000): Promise<number[]> {
  const live = pids.filter(isAlive);
  if (live.length === 0) return [];
  for (const p of live) signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = live.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(20);
    left = left.filter(isAlive);
  }
  for (const p of left) signal(p, 'SIGKILL');
  const hardDeadline = Date.now() + 2000;
  let still = left.filter(isAlive);
  while (still.length > 0 && Date.now() < hardDeadline) {
    await sleep(20);
    still = still.filter(isAlive);
  }
  return left;
}
