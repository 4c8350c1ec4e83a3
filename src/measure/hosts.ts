// How a host argument (`--from h1`, `--server h2`) becomes a network namespace and an address.
// The measurement layer knows only namespaces; the test bed knows its host names. A HostResolver is the
// seam between them: the CLI takes one, and the test bed can supply its own (see cli/commands/traffic.ts).
import { isIpv4, listNetns, netnsIpv4Addresses } from './netns.ts';

export interface ResolvedHost {
  /** The name as given. */
  name: string;
  /** The network namespace in which the host's processes run. */
  netns: string;
  /** The host's IPv4 address (without prefix length), when known. */
  ip?: string;
}

export type HostResolver = (name: string) => Promise<ResolvedHost>;

/** Default resolver: a host is a network namespace of that name (`ip netns list`); its first global IPv4. */
export const netnsHostResolver: HostResolver = async (name) => {
  const all = await listNetns();
  if (!all.includes(name)) throw new Error(`no network namespace named '${name}' (see: ip netns list)`);
  const ips = await netnsIpv4Addresses(name);
  return ips[0] ? { name, netns: name, ip: ips[0] } : { name, netns: name };
};

/** Tries each resolver in turn; the first that succeeds wins; all errors are reported when none does. */
export function chainResolvers(...resolvers: HostResolver[]): HostResolver {
  return async (name) => {
    const errors: string[] = [];
    for (const r of resolvers) {
      try {
        return await r(name);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new Error(errors.length === 1 ? errors[0]! : `cannot resolve host '${name}': ${errors.join('; ')}`);
  };
}

/** A target given as an IPv4 address stays as it is; anything else is resolved as a host and gives its IP. */
export async function resolveTargetIp(target: string, resolve: HostResolver): Promise<string> {
  if (isIpv4(target)) return target;
  const h = await resolve(target);
  if (!h.ip) throw new Error(`host '${target}' has no IPv4 address; give one explicitly`);
  return h.ip;
}
