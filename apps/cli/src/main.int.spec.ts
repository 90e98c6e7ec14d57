// The bulwark binary (bin/bulwark.js, running dist/apps/cli: `npm run -s build`
// first) against real processes: 3 coordinators, a replica group of 3, two
// routers, a lock service on its memory backend and a monitor, each on a
// free port, found through the BULWARK_* environment variables. Every
// command, its output for people and for scripts, and its exit status.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KvFleet, kvFleetGroupId } from '@bulwark/kv-client/testing';
import { freePort, repoPath, startProcess } from '@bulwark/testing';

const binary = repoPath('bin', 'bulwark.js');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('the bulwark binary on a real fleet', () => {
  let fleet: KvFleet;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fleet = await KvFleet.start({ routers: 2 });
    const coordinators = fleet.coordinators.join(',');
    const lock = await fleet.add('lock-1', 'lock', {
      BULWARK_COORDINATORS: coordinators,
      BULWARK_LOCK_BACKEND: 'memory',
    });
    const monitor = await fleet.add('monitor-1', 'monitor', {
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: join(fleet.scratch, 'monitor-1'),
      BULWARK_DASHBOARD_ADDR: 'off',
    });
    env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      BULWARK_ENDPOINTS: fleet.routers.join(','),
      BULWARK_COORDINATOR_ENDPOINTS: coordinators,
      BULWARK_LOCK_ENDPOINTS: lock.address,
      BULWARK_MONITOR_ENDPOINT: monitor.address,
    };
  }, 120_000);

  afterAll(() => fleet?.stop());

  /** Runs the binary to its end. */
  function bulwark(args: string[], stdin = ''): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [binary, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }

  /** Starts the binary for a command that runs until it is signalled. */
  function bulwarkRunning(args: string[]) {
    return startProcess({ command: process.execPath, args: [binary, ...args], env });
  }

  describe('the KV store', () => {
    it('puts a value and gets it back raw', async () => {
      expect(await bulwark(['put', 'a', '1'])).toEqual({ status: 0, stdout: 'OK (version 1)\n', stderr: '' });
      expect(await bulwark(['get', 'a'])).toEqual({ status: 0, stdout: '1\n', stderr: '' });
    });

    it('prints JSON for scripts, and exits 5 printing nothing for a missing key', async () => {
      await bulwark(['put', 'json/k', 'héllo']);
      const read = await bulwark(['get', 'json/k', '--json', '--consistency', 'eventual']);
      expect(read.status).toBe(0);
      expect(JSON.parse(read.stdout)).toMatchObject({
        found: true,
        key: 'json/k',
        value: 'héllo',
        version: '1',
        header: { groupId: kvFleetGroupId },
      });
      expect(await bulwark(['get', 'json/missing'])).toEqual({ status: 5, stdout: '', stderr: '' });
      const missing = await bulwark(['get', 'json/missing', '--json']);
      expect(missing.status).toBe(5);
      expect(JSON.parse(missing.stdout)).toMatchObject({ key: 'json/missing', found: false });
    });

    it('deletes, compares-and-sets, and refuses a stale fencing token', async () => {
      await bulwark(['put', 'del/k', 'v']);
      expect(await bulwark(['del', 'del/k'])).toMatchObject({ status: 0, stdout: '1\n' });
      expect(await bulwark(['del', 'del/k'])).toMatchObject({ status: 0, stdout: '0\n' });
      expect((await bulwark(['get', 'del/k'])).status).toBe(5);

      expect(await bulwark(['put', 'cas/k', 'v1', '--if-version', '0'])).toMatchObject({ status: 0 });
      expect(await bulwark(['put', 'cas/k', 'v2', '--if-version', '0'])).toEqual({
        status: 4,
        stdout: '',
        stderr: 'bulwark: key "cas/k" is at version 1, expected to be absent\n',
      });
      expect(await bulwark(['put', 'cas/k', 'v2', '--if-version', '1'])).toMatchObject({
        status: 0,
        stdout: 'OK (version 2)\n',
      });

      await bulwark(['put', 'fenced', 'new', '--fence-lock', 'jobs', '--fence-token', '5']);
      const stale = await bulwark(['put', 'fenced', 'old', '--fence-lock', 'jobs', '--fence-token', '4']);
      expect(stale.status).toBe(4);
      expect(stale.stderr).toMatch(/^bulwark: FAILED_PRECONDITION: fence\.token: /);
    });

    it('scans a prefix page by page', async () => {
      for (const key of ['scan/1', 'scan/2', 'scan/3']) await bulwark(['put', key, `value ${key}`]);
      const all = await bulwark(['scan', 'scan/', '--page-size', '2']);
      expect(all.status).toBe(0);
      expect(all.stdout.split('\n')).toEqual([
        'KEY     VALUE         VERSION',
        'scan/1  value scan/1  1',
        'scan/2  value scan/2  1',
        'scan/3  value scan/3  1',
        '',
      ]);
      const first = await bulwark(['scan', 'scan/', '--limit', '2', '--json']);
      const page = JSON.parse(first.stdout) as { kvs: { key: string }[]; nextPageToken: string };
      expect(page.kvs.map((kv) => kv.key)).toEqual(['scan/1', 'scan/2']);
      const rest = await bulwark(['scan', 'scan/', '--keys-only', '--page-token', page.nextPageToken]);
      expect(rest).toEqual({ status: 0, stdout: 'scan/3\n', stderr: '' });
    });

    it('applies a transaction from stdin or a file: SUCCESS exits 0, FAILURE exits 4', async () => {
      const txn = 'version(txn/a) = 0\n\nput txn/a 1\nput txn/b 2\n\nput txn/failed yes\n';
      expect(await bulwark(['txn'], txn)).toEqual({
        status: 0,
        stdout: 'SUCCESS\nput txn/a: version 1\nput txn/b: version 1\n',
        stderr: '',
      });
      const file = join(fleet.scratch, 'txn.txt');
      writeFileSync(file, txn);
      expect(await bulwark(['txn', '--file', file])).toEqual({
        status: 4,
        stdout: 'FAILURE\nput txn/failed: version 1\n',
        stderr: '',
      });
      expect((await bulwark(['get', 'txn/failed'])).stdout).toBe('yes\n');
    });

    it('exits 2 for usage errors and INVALID_ARGUMENT, 3 when no router answers', async () => {
      expect(await bulwark(['get'])).toEqual({
        status: 2,
        stdout: '',
        stderr: "bulwark: missing required argument 'key'\n",
      });
      expect(await bulwark(['frobnicate'])).toMatchObject({
        status: 2,
        stderr: "bulwark: unknown command 'frobnicate'\n",
      });
      expect(await bulwark(['put', '', 'v'])).toMatchObject({
        status: 2,
        stderr: 'bulwark: INVALID_ARGUMENT: key: must not be empty\n',
      });
      const nobody = `127.0.0.1:${await freePort()}`;
      const unreachable = await bulwark(['--endpoints', nobody, 'get', 'a']);
      expect(unreachable.status).toBe(3);
      expect(unreachable.stderr).toMatch(
        new RegExp(`^bulwark: UNAVAILABLE: kv.v1.KV/get: unavailable at every router \\(${nobody}\\)`),
      );
    });
  });

  describe('locks', () => {
    it('acquires, inspects and releases a lock, with exit 4 for a held lock and 5 for one not held', async () => {
      const acquired = await bulwark(['lock', 'acquire', 'jobs/report', '--ttl', '30s']);
      expect(acquired.status).toBe(0);
      const token = acquired.stdout.trim();
      expect(token).toMatch(/^\d+$/);

      const inspected = await bulwark(['lock', 'inspect', 'jobs/report', '--json']);
      expect(JSON.parse(inspected.stdout)).toMatchObject({
        held: true,
        holder: { token },
        lastToken: token,
        backend: { kind: 'memory' },
      });
      expect((await bulwark(['lock', 'inspect', 'jobs/report'])).stdout).toMatch(/^held +yes$/m);

      const taken = await bulwark(['lock', 'acquire', 'jobs/report', '--owner', 'someone-else']);
      expect(taken.status).toBe(4);
      expect(taken.stderr).toMatch(
        /^bulwark: FAILED_PRECONDITION: name: lock "jobs\/report" is held by owner "bulwark-cli:/,
      );

      const wrongToken = await bulwark(['lock', 'release', 'jobs/report', String(BigInt(token) + 1n)]);
      expect(wrongToken.status).toBe(5);
      expect(wrongToken.stderr).toMatch(/^bulwark: FAILED_PRECONDITION: token: /);
      expect(await bulwark(['lock', 'release', 'jobs/report', token])).toEqual({
        status: 0,
        stdout: 'released\n',
        stderr: '',
      });
      expect((await bulwark(['lock', 'release', 'jobs/report', token])).status).toBe(5);
      expect(JSON.parse((await bulwark(['lock', 'inspect', 'jobs/report', '--json'])).stdout)).toMatchObject({
        held: false,
      });
    });

    it('holds a lock while a command runs, giving it the token, and exits with its status', async () => {
      const script =
        'process.stdout.write(`${process.env.BULWARK_LOCK_NAME} ${process.env.BULWARK_LOCK_TOKEN}`); process.exit(7)';
      const held = await bulwark(['lock', 'hold', 'jobs/hold', '--ttl', '3s', '--', process.execPath, '-e', script]);
      expect(held.status).toBe(7);
      expect(held.stdout).toMatch(/^jobs\/hold \d+$/);
      expect(JSON.parse((await bulwark(['lock', 'inspect', 'jobs/hold', '--json'])).stdout)).toMatchObject({
        held: false,
        lastToken: held.stdout.split(' ')[1],
      });
    });

    it('stops the command and exits 4 when the lock is lost while it runs', async () => {
      const script = 'console.log(process.env.BULWARK_LOCK_TOKEN); setInterval(() => undefined, 1_000)';
      const holder = bulwarkRunning([
        'lock',
        'hold',
        'jobs/lost',
        '--owner',
        'tester',
        '--',
        process.execPath,
        '-e',
        script,
      ]);
      const token = await holder.waitForLine((line) => /^\d+$/.test(line), 20_000);
      // Another call releases the holder's grant: the service tells the holder at once.
      expect((await bulwark(['lock', 'release', 'jobs/lost', token, '--owner', 'tester'])).status).toBe(0);
      expect(await holder.waitForExit(10_000)).toEqual({ code: 4, signal: null });
      expect(holder.stderr.join('\n')).toMatch(
        new RegExp(
          `^bulwark: FAILED_PRECONDITION: token: lock "jobs/lost" under token ${token} is no longer held \\(released\\)`,
        ),
      );
    });

    it('holds a lock until Ctrl-C without a command, then releases it', async () => {
      const holder = bulwarkRunning(['lock', 'hold', 'jobs/until-interrupted', '--ttl', '2s']);
      const token = await holder.waitForLine((line) => /^\d+$/.test(line), 20_000);
      const inspected = await bulwark(['lock', 'inspect', 'jobs/until-interrupted', '--json']);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ held: true, holder: { token } });
      holder.signal('SIGINT');
      expect(await holder.waitForExit(10_000)).toEqual({ code: 0, signal: null });
      expect(JSON.parse((await bulwark(['lock', 'inspect', 'jobs/until-interrupted', '--json'])).stdout)).toMatchObject(
        {
          held: false,
        },
      );
    });
  });

  describe('the cluster', () => {
    it('shows the leader, the group and every member with its health and lag', async () => {
      // The monitor reports each member UP after its first probes: asked until it does (no event says so).
      let report: {
        leader: { id: string };
        groups: { id: string; primary: string; inSync: string[] }[];
        members: { id: string; role: string; health: { state: string } | null; replication: unknown }[];
        coordinators: { memberId: string; health: { state: string } | null }[];
      };
      const deadline = Date.now() + 30_000;
      do {
        const run = await bulwark(['status', '--json']);
        expect(run.status).toBe(0);
        report = JSON.parse(run.stdout);
      } while (
        [...report.members, ...report.coordinators].some((member) => member.health?.state !== 'UP') &&
        Date.now() < deadline
      );
      expect(report.leader.id).toMatch(/^coordinator-\d$/);
      expect(report.coordinators.map((coordinator) => coordinator.memberId).sort()).toEqual([
        'coordinator-1',
        'coordinator-2',
        'coordinator-3',
      ]);
      const [group] = report.groups;
      expect(group).toMatchObject({ id: kvFleetGroupId, inSync: expect.arrayContaining([group?.primary]) });
      const replicas = report.members.filter((member) => member.role === 'replica');
      expect(replicas.map((member) => member.id).sort()).toEqual(['replica-1', 'replica-2', 'replica-3']);
      for (const member of [...report.members, ...report.coordinators]) expect(member.health?.state).toBe('UP');
      expect(replicas.find((member) => member.id === group?.primary)?.replication).toEqual({ role: 'primary' });
      expect(replicas.filter((member) => member.id !== group?.primary).map((member) => member.replication)).toEqual([
        expect.objectContaining({ role: 'backup', inSync: true }),
        expect.objectContaining({ role: 'backup', inSync: true }),
      ]);

      const text = await bulwark(['status']);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`^leader +${report.leader.id} \\(127\\.0\\.0\\.1:\\d+\\)$`, 'm'));
      expect(text.stdout).toMatch(new RegExp(`^${kvFleetGroupId} +\\d+ +sync +${group?.primary} `, 'm'));
      expect(text.stdout).toMatch(
        new RegExp(`^${group?.primary} +replica +${kvFleetGroupId} +\\S+ +UP +primary$`, 'm'),
      );
      expect(text.stdout).toMatch(/^router-1 +router +- +\S+ +UP +-$/m);

      const nobody = `127.0.0.1:${await freePort()}`;
      const degraded = await bulwark(['status', '--monitor', nobody]);
      expect(degraded.status).toBe(0);
      expect(degraded.stdout).toMatch(
        new RegExp(`^monitor +${nobody} unreachable \\(UNAVAILABLE: .*\\); health not shown$`, 'm'),
      );
    });

    it('fails a group over while watch-topology prints the change, and stops on Ctrl-C', async () => {
      const before = JSON.parse((await bulwark(['status', '--json'])).stdout) as {
        groups: { id: string; epoch: string; primary: string; inSync: string[] }[];
      };
      const group = before.groups[0] as { id: string; epoch: string; primary: string; inSync: string[] };
      const target = group.inSync.find((member) => member !== group.primary) as string;
      const watcher = bulwarkRunning(['watch-topology']);
      await watcher.waitForLine((line) => /^revision \d+ snapshot: /.test(line), 20_000);

      const moved = await bulwark(['failover', group.id, '--to', target]);
      const epoch = BigInt(group.epoch) + 1n;
      expect(moved.status).toBe(0);
      expect(moved.stdout).toMatch(
        new RegExp(
          `^${group.id} epoch ${epoch}, primary ${target}, .* \\(was ${group.primary} at epoch ${group.epoch}\\)\\n$`,
        ),
      );
      await watcher.waitForLine(
        (line) => line.includes(`group ${group.id} epoch ${epoch}, primary ${target},`),
        20_000,
      );
      watcher.signal('SIGINT');
      expect(await watcher.waitForExit(10_000)).toEqual({ code: 0, signal: null });

      // The old epoch is gone: failing over from it again is refused.
      const stale = await bulwark(['failover', group.id, '--expected-epoch', group.epoch]);
      expect(stale.status).toBe(4);
      expect(stale.stderr).toMatch(/^bulwark: FAILED_PRECONDITION: /);
      expect((await bulwark(['failover', 'group-nope'])).status).toBe(5);
      // Writes go on at the new primary.
      expect(await bulwark(['put', 'after-failover', 'yes'])).toMatchObject({ status: 0 });
    }, 60_000);

    it('prints a completion script', async () => {
      const bash = await bulwark(['completion', 'bash']);
      expect(bash.status).toBe(0);
      expect(bash.stdout).toContain('complete -F _bulwark bulwark');
    });
  });
});
