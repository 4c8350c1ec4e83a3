// `vnm testbed ...`: build, inspect, use and tear down test beds (old + new network on a private Open
// vSwitch, hosts in network namespaces). The work is done by src/testbed; this file parses arguments
// and prints.
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  downTestbed,
  formatArgv,
  listTestbeds,
  loadTopologyFile,
  type MoveResult,
  upTestbed,
} from '../../testbed/index.ts';
import { isKnownTestbed, pickTestbed, resolveHost } from '../../testbed/lookup.ts';
import { migrationPlanYaml } from '../../testbed/migration-plan.ts';
import { planTestbed } from '../../testbed/plan.ts';
import { formatStatus, testbedHealth } from '../../testbed/status.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function nonNegativeInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a whole number >= 0`);
    return n;
  };
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

function formatMove(r: MoveResult): string {
  const lines = [`moved ${r.host}: ${r.from} -> ${r.to} (bridge ${r.bridge}, port ${r.port})`];
  if (r.blackoutStart !== undefined) {
    lines.push(
      `  blackout     ${iso(r.blackoutStart)} .. ${iso(r.blackoutEnd)}  (${(r.blackoutEnd ?? 0) - r.blackoutStart} ms)`,
    );
  }
  lines.push(
    `  port moved   ${iso(r.moveStartedAt)} .. ${iso(r.movedAt)}  (${r.movedAt - r.moveStartedAt} ms)`,
  );
  if (r.announcedAt !== undefined) lines.push(`  announced    ${iso(r.announcedAt)}  (gratuitous ARP)`);
  return lines.join('\n');
}

export function registerTestbedCommands(program: Command): void {
  const tb = program
    .command('testbed')
    .description('build and drive test beds: an old and a new OpenFlow network on a private Open vSwitch')
    .addHelpText(
      'after',
      `
A test bed is built from a topology file (see docs/testbed.md and examples/topologies/). Every switch
sN exists twice, old (bridge o-sN) and new (bridge n-sN), and a tunnel switch T (bridge tun) links to all
of them; hosts are network namespaces vnm-<bed>-<host> that start on the old network. Needs root.

Examples:
  vnm testbed up examples/topologies/paper.yaml
  vnm testbed status
  vnm testbed exec h1 -- ping -c 3 10.0.0.2
  vnm testbed move-host h1 --to new --blackout-ms 200
  vnm testbed down`,
    );

  tb.command('up')
    .description('build a test bed from a topology file (rolled back completely on error or Ctrl-C)')
    .argument('<file>', 'topology file (YAML)')
    .option('--run-dir <dir>', 'run directory (default: $VNM_RUN_DIR/testbeds/<name>, VNM_RUN_DIR=/run/vnm)')
    .option('--name <name>', "bed name instead of the file's `name`")
    .option('--controller <spec>', "override the file's controller: tcp:HOST:PORT | unix:/path | none")
    .option('--json', 'print the state (JSON) instead of the status')
    .action(
      async (file: string, opts: { runDir?: string; name?: string; controller?: string; json?: boolean }) => {
        const t0 = Date.now();
        const bed = await upTestbed(file, {
          ...(opts.runDir ? { runDir: opts.runDir } : {}),
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.controller ? { controller: opts.controller } : {}),
        });
        if (opts.json) out(JSON.stringify(bed.state, null, 2));
        else {
          out(formatStatus(bed.state, testbedHealth(bed.state)));
          out(`\nup in ${Date.now() - t0} ms; tear down with: vnm testbed down ${bed.name}`);
        }
      },
    );

  tb.command('validate')
    .description('check a topology file without building anything')
    .argument('<file>', 'topology file (YAML)')
    .option('--json', 'print the parsed topology (JSON)')
    .action((file: string, opts: { json?: boolean }) => {
      const topo = loadTopologyFile(file);
      if (opts.json) out(JSON.stringify(topo, null, 2));
      else {
        out(
          `${file}: ok — test bed '${topo.name}': ${topo.switches.length} switches, ${topo.links.length} links, ${topo.hosts.length} hosts`,
        );
      }
    });

  tb.command('down')
    .description('tear a test bed down completely (also a half-built one); idempotent')
    .argument('[name]', 'bed name or run directory (default: the only bed that is up)')
    .option('--all', 'tear down every bed that is registered')
    .action(async (name: string | undefined, opts: { all?: boolean }) => {
      const targets = opts.all ? listTestbeds().map((b) => b.name) : [name ?? pickTestbed().name];
      if (opts.all && targets.length === 0) {
        out('no test bed is up');
        return;
      }
      let failed = false;
      for (const t of targets) {
        const t0 = Date.now();
        if (!isKnownTestbed(t)) {
          out(`${t}: not up (nothing to do)`);
          continue;
        }
        const problems = await downTestbed(t);
        if (problems.length > 0) {
          failed = true;
          process.stderr.write(`vnm: ${t}: not completely torn down:\n  ${problems.join('\n  ')}\n`);
        } else out(`${t}: down in ${Date.now() - t0} ms`);
      }
      if (failed) process.exitCode = 1;
    });

  tb.command('list')
    .description('the test beds that are up (name, phase, run dir)')
    .option('--json', 'machine-readable')
    .action((opts: { json?: boolean }) => {
      const beds = listTestbeds();
      if (opts.json) out(JSON.stringify(beds, null, 2));
      else if (beds.length === 0) out('no test bed is up');
      else out(beds.map((b) => `${b.name}  ${b.phase ?? b.error}  ${b.runDir}`).join('\n'));
    });

  tb.command('status')
    .description('switches (datapath ids, ports), hosts (ip, mac, current network), namespaces, processes')
    .argument('[name]', 'bed name or run directory (default: the only bed; with several, lists them)')
    .option('--json', 'machine-readable: the state file plus health')
    .action((name: string | undefined, opts: { json?: boolean }) => {
      if (!name) {
        const beds = listTestbeds();
        if (beds.length !== 1) {
          if (opts.json) out(JSON.stringify(beds, null, 2));
          else if (beds.length === 0) out('no test bed is up');
          else out(beds.map((b) => `${b.name}  ${b.phase ?? b.error}  ${b.runDir}`).join('\n'));
          return;
        }
      }
      const bed = pickTestbed(name);
      const health = testbedHealth(bed.state);
      if (opts.json) out(JSON.stringify({ ...bed.state, health }, null, 2));
      else out(formatStatus(bed.state, health));
      if (!health.ok) process.exitCode = 1;
    });

  tb.command('exec')
    .description('run a command inside a host (its network namespace); exit status passed through')
    .argument('<host>', 'HOST, or BED/HOST when several beds have that host')
    .argument('<command...>', 'the command (put it after --)')
    .usage('<host> -- <command...>')
    .action(async (hostSpec: string, command: string[]) => {
      const { tb: bed, host } = resolveHost(hostSpec);
      const ns = bed.hostNamespace(host);
      const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: 'inherit' });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await new Promise<number>((resolve) => {
        child.on('error', (err) => {
          process.stderr.write(`vnm: cannot run ${formatArgv(command)}: ${err.message}\n`);
          resolve(127);
        });
        child.on('close', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 128 + 15)));
      });
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      process.exitCode = code;
    });

  tb.command('move-host')
    .description('move a host to the other network (switch end of its veth to the counterpart switch)')
    .argument('<host>', 'HOST or BED/HOST')
    .addOption(new Option('--to <network>', 'target network').choices(['new', 'old']).makeOptionMandatory())
    .option(
      '--blackout-ms <ms>',
      "host link down this long first (default: the topology's blackout)",
      nonNegativeInt('--blackout-ms'),
    )
    .option('--no-announce', 'do not send a gratuitous ARP after the move')
    .option('--json', 'print the timestamps as JSON (ms since the epoch)')
    .action(
      async (
        hostSpec: string,
        opts: { to: 'new' | 'old'; blackoutMs?: number; announce: boolean; json?: boolean },
      ) => {
        const { tb: bed, host } = resolveHost(hostSpec);
        const r = await bed.moveHost(host, opts.to, {
          ...(opts.blackoutMs !== undefined ? { blackoutMs: opts.blackoutMs } : {}),
          announce: opts.announce,
        });
        out(opts.json ? JSON.stringify(r, null, 2) : formatMove(r));
      },
    );

  tb.command('plan')
    .description('write the migration plan of a topology or of a built bed (for vnm controller --migration)')
    .argument(
      '<source>',
      'a topology file (nothing is built: the bed is deterministic), or a bed name/run dir',
    )
    .option('-o, --out <file>', 'write the plan here (default: standard output)')
    .addOption(new Option('--algorithm <name>', 'algorithm recorded in the plan').choices(['asap', 'alap']))
    .option('--blackout-ms <ms>', 'default blackout of each host move', nonNegativeInt('--blackout-ms'))
    .action((source: string, opts: { out?: string; algorithm?: 'asap' | 'alap'; blackoutMs?: number }) => {
      const isTopologyFile = existsSync(source) && statSync(source).isFile();
      const state = isTopologyFile
        ? planTestbed(loadTopologyFile(source), { runDir: '-', topologyFile: source })
        : pickTestbed(source).state;
      const yaml = migrationPlanYaml(state, {
        ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
        ...(opts.blackoutMs !== undefined ? { blackoutMs: opts.blackoutMs } : {}),
      });
      if (opts.out) {
        writeFileSync(opts.out, yaml);
        process.stderr.write(`vnm: migration plan for ${state.name} written to ${opts.out}\n`);
      } else out(yaml);
    });
}
