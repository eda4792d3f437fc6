/**
 * Command-line arguments as both tools take them: options as `--name value` or `--name=value`
 * (short ones as `-x value`), `-` as a positional (stdin/stdout), `-h`/`--help` anywhere.
 *
 * @module
 */

/** A mistake in how the command was called (exit status 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `-h`/`--help`: the usage text on stdout, success. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

/**
 * Hands each option to `option` with a `value` that takes the option's value when called (so
 * flags without one take nothing) and returns the positionals. `option` returns false for an
 * option it does not know, which is a `UsageError`.
 */
export function parseArgv(
  argv: readonly string[],
  option: (flag: string, value: () => string) => boolean,
): string[] {
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.startsWith("--") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag === "-h" || flag === "--help") throw new HelpRequested();
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (!option(flag, value)) throw new UsageError(`unknown option ${flag}`);
  }
  return positional;
}
