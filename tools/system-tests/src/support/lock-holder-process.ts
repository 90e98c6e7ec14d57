// A lock holder in its own process, so a test can SIGSTOP it: it holds one
// lock over a Hold stream (renewing a third of the TTL apart) and writes
// through a router with its token as the fence when told to. Bundled by
// the test with esbuild and run with node; talks JSON lines.
//   argv: lockAddress routerAddress lockName owner ttlMs key
//   stdout: {"granted":"<token>"} then {"event":"lost","cause":N} when the stream reports a loss,
//           {"write":"ok"} or {"write":"refused","code":N,"details":"..."} after each "write" line on stdin.
import { Metadata } from '@grpc/grpc-js';
import { createInterface } from 'node:readline';
import { kvV1, lockV1 } from '@bulwark/contracts';
import { createClient } from '@bulwark/rpc';

const [lockAddress, routerAddress, lockName, owner, ttlText, key] = process.argv.slice(2);
if (!lockAddress || !routerAddress || !lockName || !owner || !ttlText || !key) {
  process.stderr.write('usage: lock-holder-process lockAddress routerAddress lockName owner ttlMs key\n');
  process.exit(2);
}
const ttlMs = Number(ttlText);
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const locks = createClient(lockV1.LockClient, lockAddress);
const router = createClient(kvV1.KVClient, routerAddress);
const stream = locks.hold(new Metadata());
let token = 0n;
let renewals: NodeJS.Timeout | undefined;

stream.on('data', (response: lockV1.HoldResponse) => {
  const event = response.event;
  if (event?.$case === 'granted') {
    token = event.granted.token;
    say({ granted: token.toString() });
    renewals = setInterval(() => stream.write({ action: { $case: 'renew', renew: {} } }), ttlMs / 3);
  } else if (event?.$case === 'lost') {
    clearInterval(renewals);
    say({ event: 'lost', cause: event.lost.cause });
  }
});
stream.on('error', (error: Error) => say({ streamError: error.message }));
stream.write({ action: { $case: 'acquire', acquire: { name: lockName, owner, ttlMs, waitTimeoutMs: 30_000 } } });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'write') return;
  router.put(
    {
      key,
      value: Buffer.from(`written by ${owner} under token ${token}`),
      expectedVersion: undefined,
      durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
      fence: { lockName, token },
      requestId: '',
    },
    new Metadata(),
    { deadline: Date.now() + 10_000 },
    (error) => say(error ? { write: 'refused', code: error.code, details: error.details } : { write: 'ok' }),
  );
});
process.stdin.on('end', () => process.exit(0));
