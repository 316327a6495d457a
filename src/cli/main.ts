#!/usr/bin/env node
/**
 * The `nn-ts` command: `tsx src/cli/main.ts <command> [flags]` (or `npm run cli -- …`, or the
 * `nn-ts` bin). Runs the CLI on the process's arguments and exits with its code.
 *
 * The process's side of the CLI's guarantees:
 * - a closed stdout or stderr (`nn-ts train … | head -1`) never stops training or saving: the first
 *   write error (EPIPE) closes that stream for the CLI, later lines to it are dropped, the run goes on;
 * - SIGINT/SIGTERM during training: the current step finishes, the checkpoint is written, the command
 *   to resume is printed and the process exits 130/143; a second signal (or one outside training)
 *   exits at once with the same code, after removing this process's temporary files (a checkpoint
 *   being written stays the previous one: writes are atomic).
 *
 * @internal
 */
import { progressBar } from '../node/progressBar.ts'
import { useThreads } from '../node/threads.ts'
import { type Signals, type StopSignal, run } from './run.ts'

const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 }

/**
 * A writer to `stream` that survives the stream's end: after its first error (EPIPE when the reader
 * went away, or any other) it writes nothing more to it, and the error is not thrown at the process.
 */
/** Set by a signal that quits at once: the exit code, whatever the interrupted command returns. */
let quitCode: number | undefined

const guardedWriter = (stream: NodeJS.WriteStream): ((text: string) => void) => {
  let open = true
  stream.on('error', () => {
    open = false
  })
  return (text) => {
    // Quitting: what the interrupted command still says (a failed rename, a resume hint) is not true.
    if (!open || quitCode !== undefined || stream.destroyed || stream.writableEnded) return
    try {
      stream.write(text)
    } catch {
      open = false
    }
  }
}

const stdout = guardedWriter(process.stdout)
const stderr = guardedWriter(process.stderr)

/** The process's SIGINT/SIGTERM, as the CLI's commands see them (see `Signals`). */
const processSignals = (): Signals => {
  let requested: StopSignal | undefined
  let catching = false
  const cleanups = new Set<() => void>()
  const cleanUp = (): void => {
    for (const cleanup of cleanups) {
      try {
        cleanup()
      } catch {
        // Exiting anyway; the next cleanup still runs.
      }
    }
  }
  const exitNow = (signal: StopSignal): void => {
    quitCode = SIGNAL_EXIT[signal]
    cleanUp()
    // A write already handed to the thread pool may still create its temporary file after this
    // moment; give in-flight file operations a moment to land, then clean up again and exit.
    setTimeout(() => {
      cleanUp()
      process.exit(SIGNAL_EXIT[signal])
    }, 100)
  }
  const on = (signal: StopSignal) => (): void => {
    if (!catching || requested !== undefined) return exitNow(signal)
    requested = signal
    stderr(`\nnn-ts: ${signal}: stopping after the current step to save a checkpoint (${signal} again quits at once)\n`)
  }
  process.on('SIGINT', on('SIGINT'))
  process.on('SIGTERM', on('SIGTERM'))
  return {
    requested: () => requested,
    catching: (on) => {
      catching = on
    },
    atForcedExit: (cleanup) => {
      cleanups.add(cleanup)
      return () => void cleanups.delete(cleanup)
    }
  }
}

useThreads()
void run(process.argv.slice(2), {
  stdout,
  stderr,
  // The bar asks for the terminal's width as it draws; its writes go through the guarded writer.
  progress: progressBar({
    write: stderr,
    isTTY: process.stderr.isTTY === true,
    get columns() {
      return process.stderr.columns
    }
  }),
  signals: processSignals()
  // Exit explicitly: a finished command should not wait on handles a library left open. Writes to
  // pipes and files are synchronous on POSIX, so nothing printed is lost.
}).then((code) => {
  // After a quitting signal, its own exit comes from exitNow's timer (the command's failure is its echo).
  if (quitCode === undefined) process.exit(code)
})
