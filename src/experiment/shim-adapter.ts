// The migration shim for the experiment runner: the migration plan the test bed writes for the bed that was
// just built (src/testbed/migration-plan.ts), and a ShimController on the runtime (without its console: the
// runner drives it directly) whose host moves go through the test bed. Loaded lazily by migration.ts
// (loadMigrationFactory), so that `none` runs work whatever state the shim is in.
import { ShimController } from '../shim/controller/index.ts';
import { parsePlan } from '../shim/plan.ts';
import { migrationPlanFor } from '../testbed/migration-plan.ts';
import type { MigrationFactory } from './migration.ts';

export const createExperimentMigration: MigrationFactory = async (setup) => {
  const tb = setup.testbed;
  const plan = parsePlan(
    JSON.stringify(
      migrationPlanFor(tb.state, { algorithm: setup.algorithm, blackoutMs: Math.round(setup.blackoutMs) }),
    ),
    `${tb.name} (experiment plan)`,
  );
  const shim = await ShimController.create({
    plan,
    algorithm: setup.algorithm,
    below: setup.below,
    runDir: setup.runDir,
    moverDeps: {
      testbed: {
        move: (host, to, o) => tb.reload().moveHost(host, to, o),
        locate: (host) => tb.reload().host(host).network,
      },
    },
    onStart: 'abort',
    console: false,
    log: setup.log,
  });
  return { api: shim, driver: shim, stop: () => shim.stop() };
};
