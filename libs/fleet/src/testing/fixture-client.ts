// Test helpers for the fixture services (tcp-service.js, a Redis server) and fixture compose files.
import { connect } from 'node:net';
import { join } from 'node:path';

export const fixtureDir = __dirname;
export const fixtureComposeFile = join(__dirname, 'fleet.compose.yml');
export const neverHealthyComposeFile = join(__dirname, 'never-healthy.compose.yml');
export const redisComposeFile = join(__dirname, 'redis.compose.yml');

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

/** A RESP reply: simple and bulk strings, integers, arrays; an error reply is an Error; a null is null. */
export type RespReply = string | number | null | Error | RespReply[];

/** The reply that starts at offset and where it ends, or undefined while it is incomplete. */
function parseResp(text: string, offset: number): { reply: RespReply; end: number } | undefined {
  const lineEnd = text.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = text[offset];
  const line = text.slice(offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { reply: line, end: next };
  if (type === '-') return { reply: new Error(line), end: next };
  if (type === ':') return { reply: Number(line), end: next };
  const length = Number(line);
  if (type === '$') {
    if (length === -1) return { reply: null, end: next };
    return text.length < next + length + 2
      ? undefined
      : { reply: text.slice(next, next + length), end: next + length + 2 };
  }
  if (type !== '*') throw new Error(`not a RESP reply: ${JSON.stringify(text.slice(offset))}`);
  if (length === -1) return { reply: null, end: next };
  const items: RespReply[] = [];
  let end = next;
  for (let index = 0; index < length; index += 1) {
    const item = parseResp(text, end);
    if (item === undefined) return undefined;
    items.push(item.reply);
    end = item.end;
  }
  return { reply: items, end };
}

/** Sends one command to a Redis server in RESP (as redis-cli does) and reads its one reply. */
export function askRedis(host: string, port: number, command: string[], timeoutMs = 5000): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    socket.setEncoding('latin1');
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      text += chunk;
      try {
        const parsed = parseResp(text, 0);
        if (parsed === undefined) return;
        socket.destroy();
        resolve(parsed.reply);
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    const request = command.map((arg) => `$${Buffer.byteLength(arg, 'latin1')}\r\n${arg}\r\n`).join('');
    socket.write(`*${command.length}\r\n${request}`, 'latin1');
  });
}
