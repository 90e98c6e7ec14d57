// The module-boundary rules really fail: an app importing another app, a
// core lib importing gRPC or another I/O package, a core lib importing the
// rpc kit, and an app importing the testing lib are all lint errors. ESLint
// runs through its own API in one child process per test, each probe a file
// given as text, so the config and rules load once however many probes there
// are (one CLI start per probe outgrew the test's time as core libs grew).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { repoPath, repoRoot } from '@bulwark/testing';

const boundaryRules = ['@nx/enforce-module-boundaries', 'no-restricted-imports'];

interface Probe {
  /** Where the probe file would live, relative to the repository root. */
  file: string;
  code: string;
}

const lintProbesScript = `
import { loadESLint } from 'eslint';
const ESLint = await loadESLint({ useFlatConfig: true });
const eslint = new ESLint({ cwd: process.cwd() });
let input = '';
for await (const chunk of process.stdin) input += chunk;
const messages = [];
for (const { file, code } of JSON.parse(input)) {
  const [result] = await eslint.lintText(code, { filePath: file });
  messages.push(result.messages);
}
process.stdout.write(JSON.stringify(messages));
`;

/** The boundary errors ESLint reports for each probe, in the probes' order. */
function boundaryErrors(probes: Probe[]): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const eslint = spawn(process.execPath, ['--input-type=module', '-e', lintProbesScript], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    eslint.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    eslint.once('error', reject);
    eslint.once('close', () => {
      try {
        const results = JSON.parse(output) as Array<Array<{ ruleId: string | null; message: string }>>;
        resolve(
          results.map((messages) =>
            messages
              .filter((message) => boundaryRules.includes(message.ruleId ?? ''))
              .map((message) => message.message),
          ),
        );
      } catch (error) {
        reject(new Error(`eslint printed no JSON: ${output}: ${String(error)}`));
      }
    });
    eslint.stdin.end(JSON.stringify(probes.map((probe) => ({ file: repoPath(probe.file), code: probe.code }))));
  });
}

async function boundaryErrorsOf(file: string, code: string): Promise<string[]> {
  const [errors = []] = await boundaryErrors([{ file, code }]);
  return errors;
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
    expect(
      await boundaryErrors([
        { file: 'apps/router/src/probe.ts', code: "export { kvV1 } from '@bulwark/contracts';\n" },
        { file: 'libs/rpc/src/lib/probe.ts', code: "export { InternalError } from '@bulwark/errors';\n" },
      ]),
    ).toEqual([[], []]);
  });

  it('forbids an app importing another app', async () => {
    const errors = await boundaryErrorsOf(
      'apps/router/src/probe.ts',
      "export { coordinatorService } from '../../coordinator/src/coordinator-service';\n",
    );
    expect(errors.join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
  });

  it('forbids a core lib importing gRPC, files or sockets', async () => {
    const packages = ['@grpc/grpc-js', '@opentelemetry/api', 'pino'];
    const modules = ['node:fs', 'fs/promises', 'node:net', 'node:child_process', 'timers'];
    const errors = await boundaryErrors(
      [...packages, ...modules].map((source) => ({
        file: 'libs/errors/src/lib/probe.ts',
        code: `export * from '${source}';\n`,
      })),
    );
    expect(errors.slice(0, packages.length)).toEqual(
      packages.map((source) => [`A project tagged with "type:core" is not allowed to import "${source}"`]),
    );
    for (const moduleErrors of errors.slice(packages.length)) {
      expect(moduleErrors.join('\n')).toContain('core libs are pure');
    }
  });

  it('holds for every core lib: no gRPC and no I/O module in any of them', async () => {
    expect(coreLibs).toEqual(
      expect.arrayContaining(['errors', 'paxos', 'partitioning', 'balancing', 'failure-detection', 'history']),
    );
    const errors = await boundaryErrors(
      coreLibs.flatMap((lib) => [
        { file: `libs/${lib}/src/lib/probe.ts`, code: "export * from '@grpc/grpc-js';\n" },
        { file: `libs/${lib}/src/lib/probe.ts`, code: "export * from 'node:fs';\n" },
      ]),
    );
    coreLibs.forEach((lib, index) => {
      const [grpc, files = []] = errors.slice(index * 2, index * 2 + 2);
      expect({ lib, grpc }).toEqual({
        lib,
        grpc: ['A project tagged with "type:core" is not allowed to import "@grpc/grpc-js"'],
      });
      expect(`${lib}: ${files.join('\n')}`).toContain('core libs are pure');
    });
  });

  it('forbids a core lib importing a lib of another layer', async () => {
    const errors = await boundaryErrorsOf(
      'libs/errors/src/lib/probe.ts',
      "export { createLogger } from '@bulwark/logging';\n",
    );
    expect(errors.join('\n')).toMatch(/type:core.*can only depend on libs tagged with "type:core"/);
  });

  it('forbids an app importing the testing lib outside its tests', async () => {
    const errors = await boundaryErrorsOf('apps/router/src/probe.ts', "export { freePort } from '@bulwark/testing';\n");
    expect(errors.join('\n')).toMatch(/type:app.*can only depend on libs tagged with/);
  });
});
