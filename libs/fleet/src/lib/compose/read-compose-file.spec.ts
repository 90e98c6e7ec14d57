import { join } from 'node:path';
import { readComposeFile } from './read-compose-file';

describe('readComposeFile', () => {
  it('takes the file directory as the project directory', () => {
    const fixture = join(__dirname, '../../testing/never-healthy.compose.yml');
    expect(readComposeFile(fixture).projectDir).toBe(join(__dirname, '../../testing'));
  });

  it('says why a file cannot be read, in one line', () => {
    expect(() => readComposeFile(join(__dirname, 'missing.yml'))).toThrow('cannot read the file (ENOENT)');
  });
});
