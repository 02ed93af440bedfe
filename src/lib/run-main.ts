/**
 * Runs a command-line entry point when its module is the one Node was started
 * with (so tests can import the module), exiting with the code it returns; an
 * error prints its message alone (no stack) and exits 1.
 */
import { pathToFileURL } from 'node:url';

export function runMain(moduleUrl: string, main: () => Promise<number>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
