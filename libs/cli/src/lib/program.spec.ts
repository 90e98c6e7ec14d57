// The command line in this process, against scripted routers on real gRPC:
// what each KV command sends and prints (text and --json), and the exit
// status of every kind of outcome: usage errors, a missing key, a failed
// compare, a refusal naming a field, no router answering.
import { kvV1 } from '@bulwark/contracts';
import { FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import { ScriptedRouter } from '@bulwark/kv-client/testing';
import { freePort } from '@bulwark/testing';
import { CapturedIo } from '../testing/captured-io';
import { topLevelCommands } from '../testing/commands';
import { ExitCode } from './exit-codes';
import { runCli } from './program';

const header = { memberId: 'replica-1', epoch: 3n, ballot: undefined, revision: 40n, sequence: 7n, groupId: 'group-a' };
const stored = (key: string, value: string | Buffer, version = 1n): kvV1.KeyValue => ({
  key,
  value: Buffer.from(value),
  version,
  modSequence: 5n,
});

describe('bulwark (in process)', () => {
  let router: ScriptedRouter;

  beforeAll(async () => {
    router = await ScriptedRouter.start();
  });

  afterAll(() => router.stop());

  afterEach(() => {
    router.received.length = 0;
  });

  /** Runs a command line against the scripted router; the result holds what it printed and its status. */
  async function run(argv: string[], stdin: string | Buffer = '') {
    const io = new CapturedIo(stdin);
    const status = await runCli(['--endpoints', router.address, '--timeout', '3s', ...argv], io);
    return { status, stdout: io.output, stderr: io.errors };
  }

  describe('usage', () => {
    it('documents the commands, the environment and the exit codes in --help', async () => {
      const { status, stdout } = await run(['--help']);
      expect(status).toBe(ExitCode.ok);
      for (const text of topLevelCommands) {
        expect(stdout).toContain(`\n  ${text} `);
      }
      for (const variable of ['BULWARK_ENDPOINTS', 'BULWARK_COORDINATOR_ENDPOINTS', 'BULWARK_LOCK_ENDPOINTS']) {
        expect(stdout).toContain(variable);
      }
      expect(stdout).toContain('Exit codes:\n  0  success');
      expect(stdout).toContain('  5  not found');
      const lockHelp = await run(['lock', 'hold', '--help']);
      expect(lockHelp.stdout).toContain('BULWARK_LOCK_TOKEN');
      expect(lockHelp.stdout).toContain('Global Options:');
    });

    it('exits 2 with one line naming the problem for every kind of bad command line', async () => {
      const cases: Array<[string[], string]> = [
        [['nope'], "bulwark: unknown command 'nope'"],
        [['get'], "bulwark: missing required argument 'key'"],
        [['get', 'a', 'b'], "bulwark: too many arguments for 'get'"],
        [['get', 'a', '--bogus'], "bulwark: unknown option '--bogus'"],
        [['--timeout', 'soon', 'get', 'a'], "bulwark: option '--timeout <duration>' argument 'soon' is invalid."],
        [['--endpoints', 'router-1', 'get', 'a'], 'must be host:port, got "router-1"'],
        [['get', 'a', '--consistency', 'bounded'], 'bulwark: --max-staleness is required with --consistency bounded'],
        [['put', 'a', '1', '--fence-lock', 'jobs'], 'bulwark: --fence-lock and --fence-token go together'],
        [['put', 'a', '1', '--if-version', '-1'], 'must be a whole number, got "-1"'],
        [['put', 'a', '1', '--durability', 'eventually'], 'Allowed choices are sync, async.'],
        [
          ['lock', 'release', 'jobs', 'seven'],
          "bulwark: command-argument value 'seven' is invalid for argument 'token'",
        ],
        [['completion', 'fish'], 'Allowed choices are bash, zsh.'],
      ];
      for (const [argv, message] of cases) {
        const { status, stdout, stderr } = await run(argv);
        expect(`${argv.join(' ')} -> ${status}`).toBe(`${argv.join(' ')} -> ${ExitCode.usage}`);
        expect(stderr).toContain(message);
        expect(stderr.trim().split('\n')).toHaveLength(1);
        expect(stdout).toBe('');
      }
      expect(router.received).toEqual([]);
    });

    it('exits 2 without a command, showing the usage on stderr', async () => {
      const { status, stderr } = await run([]);
      expect(status).toBe(ExitCode.usage);
      expect(stderr).toContain('Usage: bulwark [options] [command]');
    });

    it('names the environment variable a bad value came from', async () => {
      const io = new CapturedIo();
      const previous = process.env['BULWARK_ENDPOINTS'];
      process.env['BULWARK_ENDPOINTS'] = 'localhost';
      try {
        expect(await runCli(['get', 'a'], io)).toBe(ExitCode.usage);
      } finally {
        if (previous === undefined) delete process.env['BULWARK_ENDPOINTS'];
        else process.env['BULWARK_ENDPOINTS'] = previous;
      }
      expect(io.errors).toContain("from env 'BULWARK_ENDPOINTS' is invalid. must be host:port");
    });
  });

  describe('put, get and del', () => {
    it('writes a value and prints its version; reads it back raw and newline-terminated', async () => {
      router.answer('put', () => ({ header, succeeded: true, version: 1n, current: undefined }));
      const put = await run(['put', 'a', '1']);
      expect(put).toEqual({ status: ExitCode.ok, stdout: 'OK (version 1)\n', stderr: '' });
      const [sent] = router.requests('put');
      expect(sent?.value).toEqual(Buffer.from('1'));
      expect(sent?.requestId).not.toBe('');

      router.answer('get', (request) =>
        request.key === 'a' ? { header, found: true, kv: stored('a', '1') } : { header, found: false, kv: undefined },
      );
      expect(await run(['get', 'a'])).toEqual({ status: ExitCode.ok, stdout: '1\n', stderr: '' });
      expect(await run(['get', 'missing'])).toEqual({ status: ExitCode.notFound, stdout: '', stderr: '' });
    });

    it('reads the value from stdin when it is left out, bytes as they are', async () => {
      router.answer('put', () => ({ header, succeeded: true, version: 2n, current: undefined }));
      const bytes = Buffer.from([0, 1, 254, 255]);
      await run(['put', 'binary'], bytes);
      expect(router.requests('put')[0]?.value).toEqual(bytes);
    });

    it('prints JSON with --json: 64-bit numbers as strings, the value as text and base64', async () => {
      router.answer('get', (request) =>
        request.key === 'a'
          ? { header, found: true, kv: stored('a', 'héllo', 3n) }
          : { header, found: false, kv: undefined },
      );
      const found = await run(['get', 'a', '--json', '--consistency', 'bounded', '--max-staleness', '500ms']);
      expect(found.status).toBe(ExitCode.ok);
      expect(JSON.parse(found.stdout)).toEqual({
        found: true,
        key: 'a',
        value: 'héllo',
        valueBase64: Buffer.from('héllo').toString('base64'),
        version: '3',
        modSequence: '5',
        header: { memberId: 'replica-1', groupId: 'group-a', epoch: '3', sequence: '7', revision: '40' },
      });
      expect(router.requests('get')[0]).toMatchObject({
        consistency: kvV1.Consistency.CONSISTENCY_BOUNDED,
        maxStalenessMs: 500,
      });
      const missing = await run(['--json', 'get', 'nowhere']);
      expect(missing.status).toBe(ExitCode.notFound);
      expect(JSON.parse(missing.stdout)).toMatchObject({ key: 'nowhere', found: false });
    });

    it('exits 4 when a compare-and-set finds another version', async () => {
      router.answer('put', () => ({ header, succeeded: false, version: 2n, current: stored('a', 'x', 2n) }));
      const put = await run(['put', 'a', 'y', '--if-version', '1']);
      expect(put).toEqual({
        status: ExitCode.failedPrecondition,
        stdout: '',
        stderr: 'bulwark: key "a" is at version 2, expected at version 1\n',
      });
      expect(router.requests('put')[0]?.expectedVersion).toBe(1n);
      const json = await run(['put', 'a', 'y', '--if-version', '0', '--json']);
      expect(json.status).toBe(ExitCode.failedPrecondition);
      expect(JSON.parse(json.stdout)).toMatchObject({ succeeded: false, version: '2', current: { value: 'x' } });

      router.answer('delete', () => ({ header, succeeded: false, existed: false }));
      const del = await run(['del', 'a', '--if-version', '1']);
      expect(del.status).toBe(ExitCode.failedPrecondition);
      expect(del.stderr).toBe('bulwark: key "a" is not at version 1\n');
    });

    it('deletes, printing whether the key was there, with the fence and request id given', async () => {
      router.answer('delete', (request) => ({ header, succeeded: true, existed: request.key === 'a' }));
      expect(await run(['del', 'a', '--fence-lock', 'jobs', '--fence-token', '7', '--request-id', 'r-1'])).toEqual({
        status: ExitCode.ok,
        stdout: '1\n',
        stderr: '',
      });
      expect(await run(['del', 'b'])).toMatchObject({ status: ExitCode.ok, stdout: '0\n' });
      expect(router.requests('delete')[0]).toMatchObject({ fence: { lockName: 'jobs', token: 7n }, requestId: 'r-1' });
    });

    it('exits with the code of the status a router refused with, naming it and the field', async () => {
      router.answer('put', (request) => {
        if (request.key === '') throw new InvalidArgumentError('key', 'must not be empty');
        throw new FailedPreconditionError('fence.token', 'token 1 is below 2, already applied for the lock');
      });
      expect(await run(['put', '', 'v'])).toEqual({
        status: ExitCode.usage,
        stdout: '',
        stderr: 'bulwark: INVALID_ARGUMENT: key: must not be empty\n',
      });
      expect(await run(['put', 'k', 'v', '--fence-lock', 'jobs', '--fence-token', '1'])).toEqual({
        status: ExitCode.failedPrecondition,
        stdout: '',
        stderr: 'bulwark: FAILED_PRECONDITION: fence.token: token 1 is below 2, already applied for the lock\n',
      });
    });

    it('exits 3 when no router answers', async () => {
      const nobody = `127.0.0.1:${await freePort()}`;
      const io = new CapturedIo();
      expect(await runCli(['--endpoints', nobody, 'get', 'a'], io)).toBe(ExitCode.unavailable);
      expect(io.output).toBe('');
      expect(io.errors).toMatch(
        new RegExp(`^bulwark: UNAVAILABLE: kv.v1.KV/get: unavailable at every router \\(${nobody}\\)`),
      );
    });
  });

  describe('scan', () => {
    beforeEach(() => {
      const keys = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5'];
      // Pages of what was asked for, after the key the token names.
      router.answer('scan', (request) => {
        const start = request.pageToken === '' ? 0 : keys.indexOf(request.pageToken) + 1;
        const page = keys.slice(start, start + (request.limit || 100));
        const last = page.at(-1);
        return {
          header,
          kvs: page.map((key) => stored(key, key === 'p/5' ? Buffer.from([0]) : `value of ${key}`)),
          nextPageToken: last !== undefined && last !== keys.at(-1) ? last : '',
        };
      });
    });

    it('lists every key page by page in a table', async () => {
      const { status, stdout } = await run(['scan', 'p/', '--page-size', '2']);
      expect(status).toBe(ExitCode.ok);
      expect(stdout).toBe(
        [
          'KEY  VALUE         VERSION',
          'p/1  value of p/1  1',
          'p/2  value of p/2  1',
          'p/3  value of p/3  1',
          'p/4  value of p/4  1',
          'p/5  base64:AA==   1',
          '',
        ].join('\n'),
      );
      expect(router.requests('scan').map((request) => request.pageToken)).toEqual(['', 'p/2', 'p/4']);
    });

    it('stops at --limit on a page boundary and says how to continue', async () => {
      const first = await run(['scan', 'p/', '--limit', '3', '--page-size', '2', '--keys-only']);
      expect(first).toEqual({
        status: ExitCode.ok,
        stdout: 'p/1\np/2\np/3\n',
        stderr: 'more keys: continue with --page-token p/3\n',
      });
      expect(router.requests('scan').map((request) => request.limit)).toEqual([2, 1]);
      const rest = await run(['scan', 'p/', '--page-token', 'p/3', '--json']);
      expect(JSON.parse(rest.stdout)).toMatchObject({
        prefix: 'p/',
        kvs: [
          { key: 'p/4', value: 'value of p/4' },
          { key: 'p/5', valueBase64: 'AA==' },
        ],
        nextPageToken: '',
      });
    });
  });

  describe('txn', () => {
    const text = 'version(a) = 0\n\nput a 1\ndel b\n\nput audit failed\n';

    it('sends the parsed transaction and prints SUCCESS with what each op did', async () => {
      router.answer('txn', () => ({
        header,
        succeeded: true,
        results: [
          { key: 'a', version: 1n, existed: false },
          { key: 'b', version: 0n, existed: true },
        ],
      }));
      expect(await run(['txn'], text)).toEqual({
        status: ExitCode.ok,
        stdout: 'SUCCESS\nput a: version 1\ndel b: deleted\n',
        stderr: '',
      });
      const [sent] = router.requests('txn');
      expect(sent?.compares).toHaveLength(1);
      expect(sent?.success.map((op) => op.op?.$case)).toEqual(['put', 'delete']);
      expect(sent?.failure.map((op) => op.op?.$case)).toEqual(['put']);
    });

    it('prints FAILURE and exits 4 when the compares did not hold', async () => {
      router.answer('txn', () => ({
        header,
        succeeded: false,
        results: [{ key: 'audit', version: 4n, existed: true }],
      }));
      expect(await run(['txn'], text)).toEqual({
        status: ExitCode.failedPrecondition,
        stdout: 'FAILURE\nput audit: version 4\n',
        stderr: '',
      });
      const json = await run(['txn', '--json'], text);
      expect(JSON.parse(json.stdout)).toMatchObject({ succeeded: false, results: [{ key: 'audit', version: '4' }] });
    });

    it('exits 2 naming the line of a syntax error, before sending anything', async () => {
      expect(await run(['txn'], 'version(a) = 0\n\nget a\n')).toEqual({
        status: ExitCode.usage,
        stdout: '',
        stderr: 'bulwark: txn line 3: expected put KEY VALUE or del KEY, got get a\n',
      });
      expect(router.requests('txn')).toEqual([]);
    });
  });
});
