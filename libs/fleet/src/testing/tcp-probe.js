// Fixture healthcheck: exits 0 if HOST:PORT accepts a TCP connection within a second, else 1.
const { connect } = require('node:net');

const [host, port] = String(process.argv[2]).split(':');
const socket = connect({ host, port: Number(port) });
socket.setTimeout(1000, () => {
  console.error(`no connection to ${process.argv[2]} within 1 s`);
  process.exit(1);
});
socket.on('connect', () => process.exit(0));
socket.on('error', (error) => {
  console.error(error.message);
  process.exit(1);
});
