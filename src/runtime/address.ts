// Listen addresses of the controller: TCP host:port or a unix socket path.
//
// Accepted forms (the `--listen` option, repeatable):
//   tcp:HOST:PORT   tcp:[::1]:PORT   HOST:PORT   tcp:PORT   PORT      (TCP; a bare port means 127.0.0.1)
//   ptcp:PORT[:HOST]                                                   (the ovs-testcontroller spelling)
//   unix:PATH   punix:PATH   /path/to.sock   ./rel.sock               (unix stream socket)

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export const DEFAULT_LISTEN: ListenAddress = { kind: 'tcp', host: '127.0.0.1', port: 6653 };

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new AddressError(`bad port "${text}" in listen address "${whole}"`);
  const port = Number(text);
  if (port > 65535) throw new AddressError(`port ${port} out of range in listen address "${whole}"`);
  return port;
}

function parseHostPort(text: string, whole: string): ListenAddress {
  if (/^\d+$/.test(text)) return { kind: 'tcp', host: '127.0.0.1', port: parsePort(text, whole) };
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) return { kind: 'tcp', host: v6[1]!, port: parsePort(v6[2]!, whole) };
  const at = text.lastIndexOf(':');
  if (at <= 0) throw new AddressError(`listen address "${whole}" needs HOST:PORT`);
  return { kind: 'tcp', host: text.slice(0, at), port: parsePort(text.slice(at + 1), whole) };
}

export function parseListenAddress(text: string): ListenAddress {
  const s = text.trim();
  if (s === '') throw new AddressError('empty listen address');
  if (s.startsWith('unix:')) return { kind: 'unix', path: nonEmptyPath(s.slice(5), s) };
  if (s.startsWith('punix:')) return { kind: 'unix', path: nonEmptyPath(s.slice(6), s) };
  if (s.startsWith('tcp:')) return parseHostPort(s.slice(4), s);
  if (s.startsWith('ptcp:')) {
    // ovs style: ptcp:PORT[:HOST]
    const rest = s.slice(5);
    const colon = rest.indexOf(':');
    if (colon < 0) return { kind: 'tcp', host: '127.0.0.1', port: parsePort(rest, s) };
    return { kind: 'tcp', host: rest.slice(colon + 1), port: parsePort(rest.slice(0, colon), s) };
  }
  if (s.includes('/') || s.endsWith('.sock')) return { kind: 'unix', path: s };
  return parseHostPort(s, s);
}

function nonEmptyPath(p: string, whole: string): string {
  if (p === '') throw new AddressError(`listen address "${whole}" has an empty path`);
  return p;
}

export function formatListenAddress(a: ListenAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  return a.host.includes(':') ? `tcp:[${a.host}]:${a.port}` : `tcp:${a.host}:${a.port}`;
}
