import type { Command, Option } from 'commander';

/** Every runnable command of the program, as its path of names: `devices list`, `serve`. */
export function commandPaths(program: Command): string[] {
  const paths: string[] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length > 0) walk(sub, path);
      else paths.push(path.join(' '));
    }
  };
  walk(program, []);
  return paths.sort();
}

/** Options of subcommands that share a name with a global option: the global one wins, silently. */
export function optionClashes(program: Command): string[] {
  const globals = new Set(program.options.flatMap((o) => [o.long, o.short].filter(Boolean)));
  const clashes: string[] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      for (const option of sub.options)
        for (const flag of [option.long, option.short])
          if (flag && globals.has(flag)) clashes.push(`${path.join(' ')} ${flag}`);
      walk(sub, path);
    }
  };
  walk(program, []);
  return clashes;
}

const findOption = (commands: Command[], flag: string): Option | undefined => {
  for (const command of commands) {
    const found = command.options.find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
};

/** The command path that `brickless ARGS` runs, or null when the arguments name no command. */
export function resolveCommand(program: Command, args: string[]): string | null {
  const chain: Command[] = [program];
  const path: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const current = chain.at(-1) as Command;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const flag = arg.split('=')[0] as string;
      const option = findOption([...chain].reverse(), flag);
      // An option with a value takes the next argument, unless given as --flag=value.
      if (option && (option.required || option.optional) && !arg.includes('=')) i++;
      continue;
    }
    const sub = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break; // an operand of the current command
    chain.push(sub);
    path.push(sub.name());
  }
  const last = chain.at(-1) as Command;
  return path.length > 0 && last.commands.length === 0 ? path.join(' ') : null;
}
