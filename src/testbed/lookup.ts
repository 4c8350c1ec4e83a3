// Finding beds and hosts by name across separate invocations: `paper`, `h1`, `paper/h1`.
import { existsSync } from 'node:fs';
import { namespaceExists } from './procs.ts';
import { listTestbeds, resolveRunDir } from './state.ts';
import { loadTestbed, type Testbed } from './testbed.ts';
import { names } from './topology.ts';

/** The bed named `name`, or the only bed when no name is given (error listing the beds otherwise). */
export function pickTestbed(name?: string): Testbed {
  if (name) return loadTestbed(name);
  const beds = listTestbeds();
  if (beds.length === 0) throw new Error('no test bed is up (vnm testbed up FILE)');
  if (beds.length > 1) {
    throw new Error(`${beds.length} test beds are up, name one: ${beds.map((b) => b.name).join(', ')}`);
  }
  return loadTestbed(beds[0]!.runDir);
}

/**
 * Resolves `BED/HOST` or `HOST`. A bare host name is looked up in every bed that is up; it must be in
 * exactly one.
 */
export function resolveHost(spec: string): { tb: Testbed; host: string } {
  const slash = spec.indexOf('/');
  if (slash >= 0) {
    const tb = loadTestbed(spec.slice(0, slash));
    const host = spec.slice(slash + 1);
    tb.host(host); // throws listing the hosts
    return { tb, host };
  }
  const beds = listTestbeds().filter((b) => !b.error);
  if (beds.length === 0) throw new Error('no test bed is up (vnm testbed up FILE)');
  const hits: Testbed[] = [];
  for (const b of beds) {
    const tb = loadTestbed(b.runDir);
    if (tb.state.hosts.some((h) => h.name === spec)) hits.push(tb);
  }
  if (hits.length === 1) return { tb: hits[0]!, host: spec };
  if (hits.length === 0) {
    const all = beds.map((b) => {
      const tb = loadTestbed(b.runDir);
      return `${b.name}: ${tb.state.hosts.map((h) => h.name).join(', ')}`;
    });
    throw new Error(`no host '${spec}' in any test bed (${all.join('; ')})`);
  }
  throw new Error(
    `host '${spec}' is in several test beds, say which: ${hits.map((t) => `${t.name}/${spec}`).join(', ')}`,
  );
}

/**
 * A host resolver for the measurement layer (structurally its HostResolver): `h1` or `paper/h1` ->
 * the host's namespace and IPv4 address.
 */
export async function testbedHostResolver(
  name: string,
): Promise<{ name: string; netns: string; ip: string }> {
  const { tb, host } = resolveHost(name);
  const h = tb.host(host);
  return { name, netns: h.namespace, ip: h.ip };
}

/** True when something of the bed exists: its run dir, or (for a name) its lab namespace. */
export function isKnownTestbed(nameOrRunDir: string): boolean {
  if (existsSync(resolveRunDir(nameOrRunDir))) return true;
  return !nameOrRunDir.includes('/') && namespaceExists(names.labNamespace(nameOrRunDir));
}
