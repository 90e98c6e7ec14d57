// `bulwark completion bash|zsh`: a completion script made from the program's
// own command tree, so it lists exactly the commands and options there are.
// Both scripts walk the words typed so far to find the command (skipping
// options and their values), then offer its subcommands (or an argument's
// choices), its options and the global ones, or an option's choices. After
// `--` (lock hold's command) they complete a command, then files.
import type { Command, Option } from 'commander';

export const completionShells = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof completionShells)[number];

export interface OptionSpec {
  /** The long flag first, then the short one, if any. */
  readonly flags: readonly string[];
  readonly description: string;
  readonly takesValue: boolean;
  readonly choices: readonly string[];
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly commands: readonly CommandSpec[];
  /** The choices of its arguments (completion's bash and zsh). */
  readonly argumentChoices: readonly string[];
}

const helpOption: OptionSpec = { flags: ['--help', '-h'], description: 'show help', takesValue: false, choices: [] };
/** Options whose value is a path: completed with file names. */
const fileOptions = new Set(['--file']);

export function commandSpecOf(command: Command): CommandSpec {
  return {
    name: command.name(),
    description: command.description(),
    options: [...command.options.filter((option) => !option.hidden).map(optionSpecOf), helpOption],
    commands: command.commands.map(commandSpecOf),
    argumentChoices: command.registeredArguments.flatMap((argument) => argument.argChoices ?? []),
  };
}

function optionSpecOf(option: Option): OptionSpec {
  return {
    flags: [option.long, option.short].filter((flag): flag is string => flag !== undefined),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
  };
}

interface CommandPath {
  /** Subcommand names from the root, space-separated; '' for the root. */
  readonly path: string;
  readonly words: readonly { readonly word: string; readonly description: string }[];
  readonly options: readonly OptionSpec[];
}

/** Every command with what may follow it: its subcommands or argument choices, its options and the global ones. */
function commandPaths(root: CommandSpec): CommandPath[] {
  const globals = root.options.filter((option) => option !== helpOption);
  const paths: CommandPath[] = [];
  const visit = (command: CommandSpec, path: string) => {
    paths.push({
      path,
      words: [
        ...command.commands.map((sub) => ({ word: sub.name, description: sub.description })),
        ...command.argumentChoices.map((choice) => ({ word: choice, description: choice })),
      ],
      options: command === root ? command.options : [...command.options, ...globals],
    });
    for (const sub of command.commands) visit(sub, path === '' ? sub.name : `${path} ${sub.name}`);
  };
  visit(root, '');
  return paths;
}

/** Every option that takes a value, by flag, with its choices; the same flag means the same thing everywhere. */
function valueOptions(root: CommandSpec): Map<string, readonly string[]> {
  const options = new Map<string, readonly string[]>();
  const visit = (command: CommandSpec) => {
    for (const option of command.options) {
      if (option.takesValue) for (const flag of option.flags) options.set(flag, option.choices);
    }
    command.commands.forEach(visit);
  };
  visit(root);
  return options;
}

export function completionScript(shell: CompletionShell, root: CommandSpec): string {
  return shell === 'bash' ? bashScript(root) : zshScript(root);
}

function bashScript(root: CommandSpec): string {
  const name = root.name;
  const values = valueOptions(root);
  const paths = commandPaths(root);
  const known = paths.filter(({ path }) => path !== '').map(({ path }) => `'${path}'`);
  const choiceCases = [...values]
    .filter(([, choices]) => choices.length > 0)
    .map(([flag, choices]) => `    ${flag}) COMPREPLY=($(compgen -W '${choices.join(' ')}' -- "$cur")); return 0 ;;`);
  const fileCases = [...values.keys()]
    .filter((flag) => fileOptions.has(flag))
    .map((flag) => `    ${flag}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;`);
  const pathCases = paths.map(
    ({ path, words, options }) =>
      `    '${path}') subcommands='${words.map((entry) => entry.word).join(' ')}'; flags='${options.flatMap((option) => option.flags).join(' ')}' ;;`,
  );
  return `# bash completion for ${name}. Load it with: source <(${name} completion bash)
_${name}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmdpath='' word next i subcommands flags
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ $word == -- ]]; then
      if ((COMP_CWORD == i + 1)); then COMPREPLY=($(compgen -c -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      return 0
    fi
    case $word in
      ${[...values.keys()].join('|')}) ((i++)); continue ;;
      -*) continue ;;
    esac
    next=\${cmdpath:+$cmdpath }$word
    case $next in
      ${known.join('|')}) cmdpath=$next ;;
    esac
  done
  case $prev in
${[...choiceCases, ...fileCases].join('\n')}
    ${[...values.keys()].join('|')}) return 0 ;;
  esac
  case $cmdpath in
${pathCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  fi
}
complete -F _${name} ${name}
`;
}

/** A `word:description` entry of a zsh _describe array, single-quoted. */
function described(word: string, description: string): string {
  return `'${`${word.replace(/:/g, '\\:')}:${description}`.replace(/'/g, `'\\''`)}'`;
}

function zshScript(root: CommandSpec): string {
  const name = root.name;
  const values = valueOptions(root);
  const paths = commandPaths(root);
  const known = paths.filter(({ path }) => path !== '').map(({ path }) => `'${path}'`);
  const choiceCases = [...values]
    .filter(([, choices]) => choices.length > 0)
    .map(([flag, choices]) => `    (${flag}) compadd -- ${choices.join(' ')}; return ;;`);
  const fileCases = [...values.keys()]
    .filter((flag) => fileOptions.has(flag))
    .map((flag) => `    (${flag}) _files; return ;;`);
  const pathCases = paths.map(({ path, words, options }) => {
    const optionEntries = options.flatMap((option) => option.flags.map((flag) => described(flag, option.description)));
    const wordEntries = words.map((entry) => described(entry.word, entry.description));
    return `    ('${path}') flag_entries=(${optionEntries.join(' ')}); subcommand_entries=(${wordEntries.join(' ')}) ;;`;
  });
  return `#compdef ${name}
# zsh completion for ${name}. Load it with: source <(${name} completion zsh)
# or save it as _${name} in a directory on $fpath.
_${name}() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]}
  local cmdpath='' word next i
  local -a flag_entries subcommand_entries
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if [[ $word == -- ]]; then
      if ((CURRENT == i + 1)); then _command_names -e; else _files; fi
      return
    fi
    case $word in
      (${[...values.keys()].join('|')}) ((i++)); continue ;;
      (-*) continue ;;
    esac
    next=\${cmdpath:+$cmdpath }$word
    case $next in
      (${known.join('|')}) cmdpath=$next ;;
    esac
  done
  case $prev in
${[...choiceCases, ...fileCases].join('\n')}
    (${[...values.keys()].join('|')}) return ;;
  esac
  case $cmdpath in
${pathCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    _describe -t options option flag_entries
  else
    _describe -t commands command subcommand_entries
  fi
}
if [[ $funcstack[1] == _${name} ]]; then
  _${name} "$@"
else
  compdef _${name} ${name}
fi
`;
}
