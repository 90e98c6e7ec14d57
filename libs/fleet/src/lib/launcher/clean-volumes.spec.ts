import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeVolumeData } from './clean-volumes';

describe('removeVolumeData', () => {
  let stateDir: string;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'bulwark-clean-'));
  });

  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it("removes the named volumes' directories and nothing else in the state directory", () => {
    for (const volume of ['coordinator-1-data', 'replica-a1-data']) {
      mkdirSync(join(stateDir, volume, 'wal'), { recursive: true });
      writeFileSync(join(stateDir, volume, 'wal', 'segment'), 'data');
    }
    mkdirSync(join(stateDir, 'not-a-volume'));
    writeFileSync(join(stateDir, 'notes.txt'), 'keep me');
    const removed = removeVolumeData({ volumes: ['coordinator-1-data', 'replica-a1-data', 'never-used'] }, stateDir);
    expect(removed).toEqual(['coordinator-1-data', 'replica-a1-data']);
    expect(readdirSync(stateDir).sort()).toEqual(['not-a-volume', 'notes.txt']);
    expect(existsSync(stateDir)).toBe(true);
  });
});
