// The `vnm` command. Each command group lives in its own module under ./commands and registers itself here.
import { Command, CommanderError } from 'commander';
import { registerCodecCommands } from './commands/codec.ts';
import { registerControllerCommands } from './commands/controller.ts';
import { registerExperimentCommands } from './commands/experiment.ts';
import { registerMigrateCommands } from './commands/migrate.ts';
import { registerTestbedCommands } from './commands/testbed.ts';
import { registerTrafficCommands } from './commands/traffic.ts';

const program = new Command();
program
  .name('vnm')
  .description('Live migration of an entire OpenFlow network: codec, controller, test bed, migration shim')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerCodecCommands(program);
registerTrafficCommands(program);
registerControllerCommands(program);
registerTestbedCommands(program);
registerMigrateCommands(program);
registerExperimentCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`vnm: ${message}\n`);
  if (process.env.VNM_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
