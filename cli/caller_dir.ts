/**
 * The command-line tools' tasks (`deno task cli`, `deno task bao`) run in the project's folder;
 * they pass the folder they were called from (deno task's `INIT_CWD`) as `GATEWAY_CLI_CWD`, so
 * that paths on the command line are the caller's. Not `INIT_CWD` itself: npm scripts and outer
 * tasks leave it set for every program they start, installed commands included.
 *
 * @module
 */

/** Moves into the caller's folder, if a task said which; exits with `failureCode` if it cannot. */
export function enterCallerDir(failureCode: number): void {
  const dir = Deno.env.get("GATEWAY_CLI_CWD");
  if (!dir) return;
  try {
    Deno.chdir(dir);
  } catch (e) {
    console.error(`cannot work in ${dir}: ${e instanceof Error ? e.message : e}`);
    Deno.exit(failureCode);
  }
}
