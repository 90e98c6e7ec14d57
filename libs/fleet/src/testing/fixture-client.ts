// Test helpers for the fixture services (tcp-service.js) and fixture compose files.
import { connect } from 'node:net';
import { join } from 'node:path';

export const fixtureDir = __dirname;
export const fixtureComposeFile = join(__dirname, 'fleet.compose.yml');
export const neverHealthyComposeFile = join(__dirname, 'never-healthy.compose.yml');

/** What tcp-service.js answers on every connection. */
export interface FixtureReply {
  name: string;
  /** host:port the connection was accepted on. */
  address: string;
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

/** Connects to host:port and reads the fixture's JSON line; rejects if no reply within timeoutMs. */
export function askFixture(host: string, port: number, timeoutMs = 5000): Promise<FixtureReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as FixtureReply);
      } catch {
        reject(new Error(`${host}:${port} answered ${JSON.stringify(text)}, not a fixture reply`));
      }
    });
  });
}
