#!/usr/bin/env node
/**
 * The `nn-ts` command: `tsx src/cli/main.ts <command> [flags]` (or `npm run cli -- …`, or the
 * `nn-ts` bin). Runs the CLI on the process's arguments and exits with its code.
 *
 * @internal
 */
import { progressBar } from '../node/progressBar.ts'
import { useThreads } from '../node/threads.ts'
import { run } from './run.ts'

useThreads()
void run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progress: progressBar(process.stderr)
  // Exit explicitly: a finished command should not wait on handles a library left open. Writes to
  // pipes and files are synchronous on POSIX, so nothing printed is lost.
}).then((code) => process.exit(code))
