// A directory setting for durable state: created if missing and checked for
// write access at start, so a bad path fails fast with one line instead of
// at the first fsync.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, string, type Setting } from './config';

export function writableDirectory(variable: string, fallback?: string): Setting<string> {
  const path = string(variable, fallback === undefined ? {} : { default: fallback });
  return {
    variable,
    parse(raw) {
      const directory = resolve(path.parse(raw));
      try {
        mkdirSync(directory, { recursive: true });
        accessSync(directory, constants.W_OK);
      } catch (error) {
        throw new ConfigError(
          variable,
          `cannot create or write directory ${directory} (${(error as NodeJS.ErrnoException).code})`,
        );
      }
      return directory;
    },
  };
}
