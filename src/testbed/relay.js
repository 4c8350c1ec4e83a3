// Controller relay (plain JavaScript so that it starts in ~50 ms without tsx).
//   node relay.js SOCKET HOST PORT
// Listens on the unix socket SOCKET and pipes every connection to TCP HOST:PORT. The test bed's
// switches run in a network namespace of their own where 127.0.0.1 is not the root namespace's
// loopback, but unix sockets cross namespaces: each switch connects to SOCKET, and the relay (in the
// root namespace) connects on to the controller. Started detached by the test bed (see relay.ts);
// exits on SIGTERM/SIGINT, or by itself within a second when SOCKET is removed (bed torn down).
import { existsSync, unlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const [socketPath, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!socketPath || !host || !Number.isInteger(port)) {
  process.stderr.write('usage: node relay.js SOCKET HOST PORT\n');
  process.exit(2);
}

const log = (msg) => process.stderr.write(`${new Date().toISOString()} relay: ${msg}\n`);
let n = 0;
const server = createServer((down) => {
  const id = ++n;
  const up = connect({ host, port });
  up.setNoDelay(true);
  const close = () => {
    down.destroy();
    up.destroy();
  };
  up.on('connect', () => log(`#${id} connected to ${host}:${port}`));
  up.on('error', (err) => {
    log(`#${id} controller ${host}:${port}: ${err.message}`);
    close();
  });
  down.on('error', close);
  up.on('close', close);
  down.on('close', close);
  down.pipe(up);
  up.pipe(down);
});

try {
  unlinkSync(socketPath);
} catch {}
server.on('error', (err) => {
  log(`listen ${socketPath}: ${err.message}`);
  process.exit(1);
});
server.listen(socketPath, () => log(`listening on ${socketPath}, forwarding to ${host}:${port}`));

const stop = () => {
  server.close();
  try {
    unlinkSync(socketPath);
  } catch {}
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {
  if (!existsSync(socketPath)) {
    log('socket removed, exiting');
    process.exit(0);
  }
}, 1000);
