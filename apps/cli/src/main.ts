// The bulwark command line (libs/cli): parse argv, run the command, exit with its status.
import { runCli } from '@bulwark/cli';

void runCli(process.argv.slice(2)).then((status) => process.exit(status));
