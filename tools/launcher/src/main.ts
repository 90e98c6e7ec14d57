// `npm start`: the local fleet launcher. Runs the services of a compose file
// (first argument, default ./docker-compose.yml) as local processes, each on
// its own loopback address; `--clean` first removes the fleet's data (its
// named volumes). See libs/fleet for what it does and why.
import { dirname, resolve } from 'node:path';
import { loadConfigOrExit } from '@bulwark/config';
import { exitCodes, runLauncher } from '@bulwark/fleet';
import { createLogger } from '@bulwark/logging';
import { launcherSettings } from './launcher-settings';

const usage = 'usage: npm start [-- [--clean] [COMPOSE_FILE]]';
const args = process.argv.slice(2);
const flags = args.filter((arg) => arg.startsWith('-'));
const files = args.filter((arg) => !arg.startsWith('-'));
const unknown = flags.find((flag) => flag !== '--clean');
if (unknown !== undefined || files.length > 1) {
  process.stderr.write(
    `launcher: ${unknown === undefined ? 'one compose file at most' : `unknown option ${unknown}`}; ${usage}\n`,
  );
  process.exit(exitCodes.badInput);
}
const composeFile = resolve(files[0] ?? 'docker-compose.yml');
const config = loadConfigOrExit('launcher', launcherSettings(dirname(composeFile)));
const logger = createLogger({ service: 'launcher', memberId: config.fleetId, level: config.logLevel });

runLauncher({
  ...config,
  composeFile,
  stateDir: resolve(config.stateDir),
  clean: flags.includes('--clean'),
  environment: process.env,
  logger,
  output: process.stdout,
  errors: process.stderr,
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    logger.fatal({ err: error }, 'launcher failed');
    process.exit(exitCodes.failed);
  },
);
