// Fixture service for the fleet tests. Listens on FIXTURE_LISTEN or
// `--listen host:port`, writes its pid into FIXTURE_DATA_DIR (a volume), and
// answers every connection with one JSON line describing itself: the address
// it accepted on, its argv and its whole environment, so a test can see what
// the launcher gave it. FIXTURE_IGNORE_SIGTERM=1 makes it outlive SIGTERM,
// to test the stop grace period.
const { createServer } = require('node:net');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const listenFlag = process.argv.indexOf('--listen');
const listen = listenFlag === -1 ? process.env.FIXTURE_LISTEN : process.argv[listenFlag + 1];
const [host, port] = String(listen).split(':');

if (process.env.FIXTURE_DATA_DIR) writeFileSync(join(process.env.FIXTURE_DATA_DIR, 'pid'), String(process.pid));
if (process.env.FIXTURE_IGNORE_SIGTERM === '1') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));

createServer((socket) => {
  socket.on('error', () => {}); // a probe that connects and exits resets the connection: not the service's problem
  const self = {
    name: process.env.FIXTURE_NAME,
    address: `${socket.localAddress}:${socket.localPort}`,
    pid: process.pid,
    argv: process.argv.slice(2),
    env: process.env,
  };
  socket.end(`${JSON.stringify(self)}\n`);
}).listen(Number(port), host, () => console.log(`listening on ${host}:${port}`));
