// Runs tools/reflection-check (what grpcurl does with a non-protobufjs pool)
// against a server. Asynchronous on purpose: a server in the test process
// must keep answering while the checker runs.
import { execFile } from 'node:child_process';
import { repoPath } from './paths';

export interface ReflectionCheckResult {
  code: number;
  output: string;
}

export function runReflectionCheck(address: string, calls: string[] = []): Promise<ReflectionCheckResult> {
  const args = [
    repoPath('tools/reflection-check/reflection-check.py'),
    address,
    ...calls.flatMap((call) => ['--call', call]),
  ];
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
