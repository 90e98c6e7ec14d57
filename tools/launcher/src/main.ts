// `npm start`: the local fleet launcher. Runs the services of a compose file
// (first argument, default ./docker-compose.yml) as local processes, each on
// its own loopback address; see libs/fleet for what it does and why.
import { dirname, resolve } from 'node:path';
import { loadConfigOrExit } from '@bulwark/config';
import { exitCodes, runLauncher } from '@bulwark/fleet';
import { createLogger } from '@bulwark/logging';
import { launcherSettings } from './launcher-settings';

const composeFile = resolve(process.argv[2] ?? 'docker-compose.yml');
const config = loadConfigOrExit('launcher', launcherSettings(dirname(composeFile)));
const logger = createLogger({ service: 'launcher', memberId: config.fleetId, level: config.logLevel });

runLauncher({
  ...config,
  composeFile,
  stateDir: resolve(config.stateDir),
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
