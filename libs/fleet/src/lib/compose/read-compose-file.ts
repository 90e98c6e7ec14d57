import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ComposeError } from './compose-error';
import type { ComposeFile } from './compose-model';
import { parseCompose } from './parse-compose';

/** Reads and parses a compose file; its directory becomes the project directory. Errors do not repeat the path. */
export function readComposeFile(path: string): ComposeFile {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ComposeError(undefined, undefined, `cannot read the file (${(error as NodeJS.ErrnoException).code})`);
  }
  return parseCompose(text, dirname(absolute));
}
