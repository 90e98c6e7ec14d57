import { resolve } from 'node:path';

/** The repository root, from this file's place in libs/testing/src/lib. */
export const repoRoot = resolve(__dirname, '../../../..');

export function repoPath(...parts: string[]): string {
  return resolve(repoRoot, ...parts);
}
