// Runs the bundled command as a real process on the hand-made fixtures and
// checks each verdict's exit code and output.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const fixture = (name: string) => join('tools', 'check-history', 'fixtures', name);

function checkHistory(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join('dist', 'tools', 'check-history', 'main.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(() => {
  execFileSync(process.execPath, [join('tools', 'build', 'bundle.mjs'), join('tools', 'check-history')], { cwd: root });
});

describe('check-history FILE', () => {
  it.each<[string, string, RegExp]>([
    ['linearizable.jsonl', 'linearizable', /^linearizable: 13 operations on 2 keys/],
    [
      'unknown-outcomes.jsonl',
      'linearizable only because unknown outcomes may land late or never',
      /^linearizable: 10 operations on 2 keys/,
    ],
    ['concurrent-writes.jsonl', 'linearizable after exploring many orders', /^linearizable: 9 operations on 1 key /],
  ])('exits 0 for %s (%s)', (name, _, stdout) => {
    const run = checkHistory(fixture(name));
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(stdout);
  });

  it.each<[string, string, number, string]>([
    [
      'stale-read.jsonl',
      'k',
      3,
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":40,"return":50,"client":"c2"}',
    ],
    [
      'lost-write.jsonl',
      'k',
      4,
      '{"key":"k","op":"get","value":null,"expect":null,"result":"1","call":40,"return":45,"client":"c2"}',
    ],
    [
      'double-cas.jsonl',
      'lock',
      3,
      '{"key":"lock","op":"cas","value":"c2","expect":"free","result":true,"call":12,"return":22,"client":"c2"}',
    ],
    [
      'unknown-applied-twice.jsonl',
      'k',
      5,
      '{"key":"k","op":"get","value":null,"expect":null,"result":"b","call":70,"return":80,"client":"c3"}',
    ],
    [
      'nanosecond-stale-read.jsonl',
      'k',
      3,
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":1733450000123456780,"return":1733450000123457000,"client":"c2"}',
    ],
    [
      'decimal-seconds-stale-read.jsonl',
      'k',
      3,
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":1733450000.12345678,"return":1733450000.123457,"client":"c2"}',
    ],
  ])('exits 1 for %s, printing key %s and its %i-operation failing prefix', (name, key, length, lastLine) => {
    const run = checkHistory(fixture(name));
    expect(run).toMatchObject({ status: 1, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^not linearizable: key "${key}"`));
    expect(lines[1]).toMatch(new RegExp(`^shortest failing prefix of key "${key}" \\(${length} operations`));
    expect(lines.slice(2)).toHaveLength(length);
    expect(lines[lines.length - 1]).toBe(lastLine);
  });

  it('exits 2 with one line naming the line number and field of malformed input', () => {
    const run = checkHistory(fixture('malformed.jsonl'));
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toBe(
      `check-history: ${fixture('malformed.jsonl')} line 3 field "return": must be a number or null (outcome unknown), got "soon"\n`,
    );
  });

  it('compares times exactly: a read 1 ns after a write completed, beyond 2^53, is reported with the exact times', () => {
    // Read through a double, 1733450000123456779 and ...780 are one time and this history looks linearizable.
    const run = checkHistory(fixture('nanosecond-stale-read.jsonl'));
    expect(run.stdout.split('\n')[0]).toBe(
      'not linearizable: key "k" has no linearization once the operation completing at 1733450000123457000 is known',
    );
  });

  it('exits 2 naming the line and field of a time it cannot compare exactly, rather than round it', () => {
    const run = checkHistory(fixture('time-beyond-digits.jsonl'));
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toBe(
      `check-history: ${fixture('time-beyond-digits.jsonl')} line 2 field "call": must have at most 40 digits written out to be compared exactly, got 1e400 (401 digits)\n`,
    );
  });

  it('exits 2 for a missing file or bad arguments', () => {
    expect(checkHistory(fixture('absent.jsonl'))).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/cannot read .*ENOENT/),
    });
    expect(checkHistory()).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^check-history: FILE: is required\nusage:/),
    });
  });

  it('exits 3, undecided, when --budget-steps is too small to decide', () => {
    const run = checkHistory(fixture('concurrent-writes.jsonl'), '--budget-steps', '10');
    expect(run).toMatchObject({ status: 3, stderr: '' });
    expect(run.stdout).toBe(
      'undecided: key "busy" after 10 search steps: the step budget ran out; allow more with --budget-steps\n',
    );
  });
});
