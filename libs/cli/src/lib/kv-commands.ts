// put, get, del, scan and txn: the KV store through the routers, with the
// KV client (retries on the next router with the same request id, so a
// write is applied at most once; a deadline per call).
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import {
  KvClient,
  type DeleteResult,
  type Durability,
  type KeyValue,
  type PutResult,
  type ReadConsistency,
  type ReadOptions,
  type TxnResult,
  type WriteOptions,
} from '@bulwark/kv-client';
import { parseCount, parsePositiveDurationMs, parseUint64, uint32MsMax } from './arguments';
import { note, parsed, print, type CommandContext, type Handle } from './command-context';
import { ExitCode, UsageError } from './exit-codes';
import { formatTable, headerJson, jsonText, keyValueJson, valueJson } from './output';
import { parseTxn } from './txn-syntax';

interface WriteFlags {
  readonly durability?: Durability;
  readonly fenceLock?: string;
  readonly fenceToken?: bigint;
  readonly requestId?: string;
}

interface ReadFlags {
  readonly consistency?: ReadConsistency;
  readonly maxStaleness?: number;
}

const readConsistencies: readonly ReadConsistency[] = ['strong', 'bounded', 'eventual'];
/** A scan page never holds more keys than this (kv.v1's bound). */
const scanPageSizeMax = 1_000;
/** Characters of a value shown in scan's table; --json has them all. */
const tableValueCharsMax = 60;

export function registerKvCommands(program: Command, handle: Handle): void {
  withWriteOptions(
    program
      .command('put')
      .description('write a value (read from stdin when VALUE is left out)')
      .argument('<key>')
      .argument('[value]')
      .option('--if-version <n>', 'write only if the key is at version n (0: only if absent)', parsed(parseUint64)),
  ).action(handle(put));

  withReadOptions(
    program.command('get').description('print a value, as it is, newline-terminated').argument('<key>'),
  ).action(handle(get));

  withWriteOptions(
    program
      .command('del')
      .description('delete a key; prints 1 if it was there, 0 if not')
      .argument('<key>')
      .option('--if-version <n>', 'delete only if the key is at version n', parsed(parseUint64)),
  ).action(handle(del));

  withReadOptions(
    program
      .command('scan')
      .description('list keys that start with PREFIX (every key without one), in key order')
      .argument('[prefix]', 'key prefix', '')
      .option('--limit <n>', 'stop after n keys', parsed(parseCount))
      .option(
        '--page-size <n>',
        'keys per call',
        parsed((raw) => parseCount(raw, scanPageSizeMax)),
        100,
      )
      .option('--page-token <token>', 'continue a scan where an earlier one stopped')
      .option('--keys-only', 'print keys only, one per line'),
  ).action(handle(scan));

  withWriteOptions(
    program
      .command('txn')
      .description('apply a transaction read from stdin or --file (see "bulwark txn --help")')
      .option('--file <path>', 'read the transaction from a file instead of stdin')
      .addHelpText(
        'after',
        `
The transaction: compares, a blank line, the ops to run when every compare
holds, a blank line, the ops to run otherwise. # starts a comment line.
  version("user:{1}:name") = 0     version(KEY) = != < > N
  value(user:{1}:state) != done    value(KEY) = != TEXT

  put user:{1}:name Ada            put KEY VALUE
  del user:{1}:pending             del KEY

  put user:{1}:conflict "name taken"
KEY, VALUE and TEXT are words without spaces, quotes or parentheses, or JSON
strings. Every key must belong to one replica group: keys that share a hash
tag ({1}) do. Prints SUCCESS or FAILURE, then what each op of that branch
did; exits 0 on SUCCESS, 4 on FAILURE (the compares did not hold).`,
      ),
  ).action(handle(txn));
}

function withWriteOptions(command: Command): Command {
  return command
    .addOption(new Option('--durability <mode>', 'when to acknowledge: sync or async').choices(['sync', 'async']))
    .option('--fence-lock <name>', 'guard the write with this lock’s fencing token (with --fence-token)')
    .option('--fence-token <token>', 'the fencing token (from lock acquire)', parsed(parseUint64))
    .option('--request-id <id>', 'the write’s request id: a retry with it is applied at most once');
}

function withReadOptions(command: Command): Command {
  return command
    .addOption(new Option('--consistency <level>', 'who may answer (default strong)').choices(readConsistencies))
    .option(
      '--max-staleness <duration>',
      'how far behind a bounded read may be (500ms, 2s)',
      parsed((raw) => parsePositiveDurationMs(raw, uint32MsMax)),
    );
}

function writeOptionsOf(flags: WriteFlags): WriteOptions {
  if ((flags.fenceLock === undefined) !== (flags.fenceToken === undefined)) {
    throw new UsageError('--fence-lock and --fence-token go together');
  }
  return {
    ...(flags.durability ? { durability: flags.durability } : {}),
    ...(flags.fenceLock !== undefined && flags.fenceToken !== undefined
      ? { fence: { lockName: flags.fenceLock, token: flags.fenceToken } }
      : {}),
    ...(flags.requestId !== undefined ? { requestId: flags.requestId } : {}),
  };
}

function readOptionsOf(flags: ReadFlags): ReadOptions {
  if (flags.consistency === 'bounded') {
    if (flags.maxStaleness === undefined)
      throw new UsageError('--max-staleness is required with --consistency bounded');
    return { consistency: 'bounded', maxStalenessMs: flags.maxStaleness };
  }
  if (flags.maxStaleness !== undefined) throw new UsageError('--max-staleness goes with --consistency bounded only');
  return flags.consistency ? { consistency: flags.consistency } : {};
}

async function withKv<T>(context: CommandContext, use: (client: KvClient) => Promise<T>): Promise<T> {
  const client = new KvClient({ endpoints: context.settings.endpoints, callTimeoutMs: context.settings.timeoutMs });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function put(
  context: CommandContext,
  key: string,
  value: string | undefined,
  flags: WriteFlags & { ifVersion?: bigint },
): Promise<ExitCode> {
  const options = writeOptionsOf(flags);
  const bytes = value ?? (await context.io.readStdin());
  const result = await withKv(context, (client) =>
    client.put(key, bytes, {
      ...options,
      ...(flags.ifVersion !== undefined ? { expectedVersion: flags.ifVersion } : {}),
    }),
  );
  print(
    context,
    () => jsonText(putJson(key, result)),
    () => (result.succeeded ? `OK (version ${result.version})\n` : ''),
  );
  if (result.succeeded) return ExitCode.ok;
  if (!context.settings.json) note(context, `bulwark: ${versionMismatch(key, result.version, flags.ifVersion)}`);
  return ExitCode.failedPrecondition;
}

function putJson(key: string, result: PutResult): Record<string, unknown> {
  return {
    key,
    succeeded: result.succeeded,
    version: result.version,
    ...(result.current ? { current: keyValueJson(result.current) } : {}),
    requestId: result.requestId,
    header: headerJson(result.header),
  };
}

function versionMismatch(key: string, version: bigint, expected: bigint | undefined): string {
  const now = version === 0n ? 'does not exist' : `is at version ${version}`;
  const wanted = expected === 0n ? 'to be absent' : `at version ${expected}`;
  return `key ${JSON.stringify(key)} ${now}, expected ${wanted}`;
}

async function get(context: CommandContext, key: string, flags: ReadFlags): Promise<ExitCode> {
  const options = readOptionsOf(flags);
  const { kv, header } = await withKv(context, (client) => client.get(key, options));
  if (context.settings.json) {
    const found = kv ? { found: true, ...keyValueJson(kv) } : { key, found: false };
    context.io.stdout.write(jsonText({ ...found, header: headerJson(header) }));
  } else if (kv) {
    context.io.stdout.write(kv.value);
    context.io.stdout.write('\n');
  }
  return kv ? ExitCode.ok : ExitCode.notFound;
}

async function del(
  context: CommandContext,
  key: string,
  flags: WriteFlags & { ifVersion?: bigint },
): Promise<ExitCode> {
  const options = writeOptionsOf(flags);
  const result = await withKv(context, (client) =>
    client.delete(key, { ...options, ...(flags.ifVersion !== undefined ? { expectedVersion: flags.ifVersion } : {}) }),
  );
  print(
    context,
    () => jsonText(deleteJson(key, result)),
    () => (result.succeeded ? `${result.existed ? 1 : 0}\n` : ''),
  );
  if (result.succeeded) return ExitCode.ok;
  if (!context.settings.json) note(context, `bulwark: key ${JSON.stringify(key)} is not at version ${flags.ifVersion}`);
  return ExitCode.failedPrecondition;
}

function deleteJson(key: string, result: DeleteResult): Record<string, unknown> {
  return {
    key,
    succeeded: result.succeeded,
    existed: result.existed,
    requestId: result.requestId,
    header: headerJson(result.header),
  };
}

async function scan(
  context: CommandContext,
  prefix: string,
  flags: ReadFlags & { limit?: number; pageSize: number; pageToken?: string; keysOnly?: boolean },
): Promise<ExitCode> {
  const options = readOptionsOf(flags);
  const kvs: KeyValue[] = [];
  let pageToken = flags.pageToken ?? '';
  await withKv(context, async (client) => {
    do {
      // The last page asks for what the limit leaves, so the token it returns continues right after it.
      const pageSize = Math.min(flags.pageSize, (flags.limit ?? Number.POSITIVE_INFINITY) - kvs.length);
      const page = await client.scan(prefix, { ...options, pageSize, pageToken });
      kvs.push(...page.kvs);
      pageToken = page.nextPageToken;
    } while (pageToken !== '' && kvs.length < (flags.limit ?? Number.POSITIVE_INFINITY));
  });
  print(
    context,
    () => jsonText({ prefix, kvs: kvs.map(keyValueJson), nextPageToken: pageToken }),
    () =>
      flags.keysOnly
        ? kvs.map((kv) => `${kv.key}\n`).join('')
        : kvs.length === 0
          ? ''
          : formatTable(
              ['KEY', 'VALUE', 'VERSION'],
              kvs.map((kv) => [kv.key, tableValue(kv.value), String(kv.version)]),
            ),
  );
  if (pageToken !== '' && !context.settings.json) note(context, `more keys: continue with --page-token ${pageToken}`);
  return ExitCode.ok;
}

/** A value in a table cell: its text when UTF-8 without control characters, else its base64; cut when long. */
function tableValue(value: Buffer): string {
  const { value: text, valueBase64 } = valueJson(value);
  // eslint-disable-next-line no-control-regex
  const shown = text !== undefined && !/[\u0000-\u001f\u007f]/.test(text) ? text : `base64:${valueBase64}`;
  return shown.length > tableValueCharsMax ? `${shown.slice(0, tableValueCharsMax - 1)}…` : shown;
}

async function txn(context: CommandContext, flags: WriteFlags & { file?: string }): Promise<ExitCode> {
  const options = writeOptionsOf(flags);
  const text =
    flags.file !== undefined ? await readFile(flags.file, 'utf8') : (await context.io.readStdin()).toString();
  const transaction = parseTxn(text);
  const result = await withKv(context, (client) => client.txn(transaction, options));
  const ops = (result.succeeded ? transaction.success : transaction.failure) ?? [];
  print(
    context,
    () => jsonText(txnJson(result)),
    () =>
      `${result.succeeded ? 'SUCCESS' : 'FAILURE'}\n` +
      result.results
        .map((op, index) =>
          ops[index]?.type === 'delete'
            ? `del ${op.key}: ${op.existed ? 'deleted' : 'was absent'}\n`
            : `put ${op.key}: version ${op.version}\n`,
        )
        .join(''),
  );
  return result.succeeded ? ExitCode.ok : ExitCode.failedPrecondition;
}

function txnJson(result: TxnResult): Record<string, unknown> {
  return {
    succeeded: result.succeeded,
    results: result.results,
    requestId: result.requestId,
    header: headerJson(result.header),
  };
}
