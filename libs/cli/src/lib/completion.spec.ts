// The completion scripts, made from the real program: bash's is run in bash
// to see what it offers; zsh (not installed here) is checked for its shape.
import { execFileSync } from 'node:child_process';
import { CapturedIo } from '../testing/captured-io';
import { topLevelCommands } from '../testing/commands';
import { completionScript } from './completion';
import { ExitCode } from './exit-codes';
import { runCli } from './program';

async function script(shell: string): Promise<string> {
  const io = new CapturedIo();
  expect(await runCli(['completion', shell], io)).toBe(ExitCode.ok);
  return io.output;
}

describe('completion', () => {
  let bash: string;

  beforeAll(async () => {
    bash = await script('bash');
  });

  /** What the bash script offers after the words typed, the last one being completed. */
  function complete(...words: string[]): string[] {
    const line = ['bulwark', ...words];
    const program = `${bash}
COMP_WORDS=(${line.map((word) => `'${word}'`).join(' ')})
COMP_CWORD=${line.length - 1}
_bulwark
printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', program], { encoding: 'utf8' })
      .split('\n')
      .filter((word) => word !== '');
  }

  it('offers commands, then subcommands', () => {
    expect(complete('')).toEqual(expect.arrayContaining([...topLevelCommands]));
    expect(complete('lo')).toEqual(['lock']);
    expect(complete('lock', '').sort()).toEqual(['acquire', 'hold', 'inspect', 'release']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
  });

  it('offers a command’s options and the global ones, and an option’s choices', () => {
    expect(complete('get', '--c').sort()).toEqual(['--consistency', '--coordinators']);
    expect(complete('get', 'k', '--consistency', '')).toEqual(['strong', 'bounded', 'eventual']);
    expect(complete('put', 'k', '--durability', 'a')).toEqual(['async']);
    expect(complete('watch-topology', '--from-revision', '')).toEqual([]);
    expect(complete('--timeout', '')).toEqual([]);
  });

  it('skips options and their values to find the command', () => {
    expect(complete('--endpoints', 'h:1', '--json', 'lock', 'acq')).toEqual(['acquire']);
    expect(complete('lock', '--timeout', '5s', 'hold', '--t')).toEqual(['--ttl', '--timeout']);
  });

  it('offers commands after -- (lock hold’s command)', () => {
    expect(complete('lock', 'hold', 'jobs', '--', 'bas')).toContain('bash');
  });

  it('makes a zsh script that registers itself and describes every command and option', async () => {
    const zsh = await script('zsh');
    expect(zsh.startsWith('#compdef bulwark\n')).toBe(true);
    expect(zsh).toContain('compdef _bulwark bulwark');
    expect(zsh).toContain("'lock:take, release, inspect and hold distributed locks'");
    expect(zsh).toContain("('lock acquire') flag_entries=(");
    expect(zsh).toContain("'--ttl:how long the lease lasts (30s, 5m)'");
    expect(zsh).toContain('(--consistency) compadd -- strong bounded eventual; return ;;');
  });

  it('quotes what a zsh description holds', () => {
    const spec = {
      name: 'tool',
      description: '',
      options: [],
      argumentChoices: [],
      commands: [{ name: 'say', description: "it's a:b", options: [], commands: [], argumentChoices: [] }],
    };
    expect(completionScript('zsh', spec)).toContain(`subcommand_entries=('say:it'\\''s a:b')`);
  });
});
