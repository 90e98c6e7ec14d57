// The module-boundary rules really fail: an app importing another app, a
// core lib importing gRPC or another I/O package, a core lib importing the
// rpc kit, and an app importing the testing lib are all lint errors. ESLint
// runs as the real CLI on a probe file given on stdin.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { repoPath, repoRoot } from '@bulwark/testing';

const boundaryRules = ['@nx/enforce-module-boundaries', 'no-restricted-imports'];

function boundaryErrors(file: string, code: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const eslint = spawn(
      process.execPath,
      [
        repoPath('node_modules/eslint/bin/eslint.js'),
        '--format',
        'json',
        '--stdin',
        '--stdin-filename',
        repoPath(file),
      ],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let output = '';
    eslint.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    eslint.once('error', reject);
    eslint.once('close', () => {
      try {
        const [result] = JSON.parse(output) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
        resolve(
          (result?.messages ?? [])
            .filter((message) => boundaryRules.includes(message.ruleId ?? ''))
            .map((message) => message.message),
        );
      } catch (error) {
        reject(new Error(`eslint printed no JSON: ${output}: ${String(error)}`));
      }
    });
    eslint.stdin.end(code);
  });
}

/** Every lib tagged type:core, read from the project files as Nx reads them. */
const coreLibs = readdirSync(repoPath('libs')).filter((dir) => {
  const projectFile = repoPath('libs', dir, 'project.json');
  return (
    existsSync(projectFile) &&
    (JSON.parse(readFileSync(projectFile, 'utf8')) as { tags: string[] }).tags.includes('type:core')
  );
});

describe('module boundaries', () => {
  beforeAll(() => {
    // The rule reads Nx's cached project graph and silently skips without one.
    execFileSync(repoPath('node_modules/.bin/nx'), ['show', 'projects'], {
      cwd: repoRoot,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  });

  it('allows what the tags allow', async () => {
    expect(await boundaryErrors('apps/router/src/probe.ts', "export { kvV1 } from '@bulwark/contracts';\n")).toEqual(
      [],
    );
    expect(
      await boundaryErrors('libs/rpc/src/lib/probe.ts', "export { InternalError } from '@bulwark/errors';\n"),
    ).toEqual([]);
  });

  it('forbids an app importing another app', async () => {
    const errors = await boundaryErrors(
      'apps/router/src/probe.ts',
      "export { coordinatorService } from '../../coordinator/src/coordinator-service';\n",
    );
    expect(errors.join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
  });

  it('forbids a core lib importing gRPC, files or sockets', async () => {
    for (const source of ['@grpc/grpc-js', '@opentelemetry/api', 'pino']) {
      const errors = await boundaryErrors('libs/errors/src/lib/probe.ts', `export * from '${source}';\n`);
      expect(errors).toEqual([`A project tagged with "type:core" is not allowed to import "${source}"`]);
    }
    for (const source of ['node:fs', 'fs/promises', 'node:net', 'node:child_process', 'timers']) {
      const errors = await boundaryErrors('libs/errors/src/lib/probe.ts', `export * from '${source}';\n`);
      expect(errors.join('\n')).toContain('core libs are pure');
    }
  });

  it('holds for every core lib: no gRPC and no I/O module in any of them', async () => {
    expect(coreLibs).toEqual(
      expect.arrayContaining(['errors', 'paxos', 'partitioning', 'balancing', 'failure-detection', 'history']),
    );
    for (const lib of coreLibs) {
      const grpc = await boundaryErrors(`libs/${lib}/src/lib/probe.ts`, "export * from '@grpc/grpc-js';\n");
      expect(grpc).toEqual(['A project tagged with "type:core" is not allowed to import "@grpc/grpc-js"']);
      const files = await boundaryErrors(`libs/${lib}/src/lib/probe.ts`, "export * from 'node:fs';\n");
      expect(files.join('\n')).toContain('core libs are pure');
    }
  });

  it('forbids a core lib importing a lib of another layer', async () => {
    const errors = await boundaryErrors(
      'libs/errors/src/lib/probe.ts',
      "export { createLogger } from '@bulwark/logging';\n",
    );
    expect(errors.join('\n')).toMatch(/type:core.*can only depend on libs tagged with "type:core"/);
  });

  it('forbids an app importing the testing lib outside its tests', async () => {
    const errors = await boundaryErrors('apps/router/src/probe.ts', "export { freePort } from '@bulwark/testing';\n");
    expect(errors.join('\n')).toMatch(/type:app.*can only depend on libs tagged with/);
  });
});
