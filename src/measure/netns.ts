// Small queries about network namespaces: which exist, their addresses, whether a port listens.
import { runCommand, sleep } from './proc.ts';

/** Names from `ip netns list` ("h1 (id: 3)" -> "h1"). */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

export async function listNetns(): Promise<string[]> {
  const r = await runCommand(['ip', 'netns', 'list']);
  if (r.code !== 0) throw new Error(`ip netns list failed: ${r.stderr.trim()}`);
  return parseNetnsList(r.stdout);
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await listNetns()).includes(name);
}

/** Global-scope IPv4 addresses in `ip -4 -o addr show` output, without prefix length. */
export function parseIpv4Addresses(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /\binet\s+(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** The namespace's global IPv4 addresses (loopback excluded). */
export async function netnsIpv4Addresses(netns: string): Promise<string[]> {
  const r = await runCommand(['ip', '-n', netns, '-4', '-o', 'addr', 'show', 'scope', 'global']);
  if (r.code !== 0) throw new Error(`cannot read addresses of namespace ${netns}: ${r.stderr.trim()}`);
  return parseIpv4Addresses(r.stdout);
}

export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return false;
  return m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * Waits until something listens on `port` (tcp or udp) inside `netns` (polls `ss`). Throws after
 * `timeoutMs`, or at once when `alive()` says the would-be listener has died.
 */
export async function waitForListen(
  netns: string,
  proto: 'tcp' | 'udp',
  port: number,
  opts: { timeoutMs?: number; alive?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  const flag = proto === 'tcp' ? '-Hltn' : '-Hlun';
  for (;;) {
    const r = await runCommand(['ip', 'netns', 'exec', netns, 'ss', flag, `sport = :${port}`]);
    if (r.code === 0 && r.stdout.trim().length > 0) return;
    if (opts.alive && !opts.alive())
      throw new Error(`the ${proto} server on port ${port} in ${netns} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${proto} port ${port} in ${netns}`);
    await sleep(20);
  }
}
