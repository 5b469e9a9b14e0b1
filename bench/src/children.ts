/**
 * Child processes of the benchmark (the per-system runners and the worker processes they start),
 * talking over Node's IPC channel. Every child is tracked so that a failing or interrupted run
 * still kills them all, and every child exits on its own when its parent's channel closes, so a
 * parent killed with SIGKILL leaves nothing behind either.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root: children run from it so that `--import tsx` resolves. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** A message over the IPC channel; `type` says what it is. */
export type Message = { readonly type: string } & Record<string, unknown>

export interface Child {
  readonly pid: number
  readonly process: ChildProcess
  readonly send: (message: Message) => void
  /** The next message (from now, or already waiting) that `match` accepts; rejects if the child exits first. */
  readonly next: (match: (message: Message) => boolean, timeoutMs: number) => Promise<Message>
  /** Resolves when the child has exited. */
  readonly exited: Promise<number | null>
}

const live = new Set<ChildProcess>()

/** Kills every child still running (SIGKILL: this is the emergency path). */
export const killAll = (): void => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

// The last line of defence: whatever way this process ends, its children go with it.
process.on("exit", killAll)

/**
 * Starts `bench/src/<file>` under tsx with `args`. Its stdout goes to our stderr (stdout is
 * reserved for `--json`); `execArgv` adds Node flags such as `--cpu-prof`. eddy's packages load
 * from `dist/`, as published (the bench builds them first): run from their TypeScript sources
 * through tsx, every function eddy makes is also named at run time (esbuild's `keepNames`):
 * ~50 µs per job against 31–37 µs from `dist/` in a micro-benchmark of a job's path.
 */
export const start = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly execArgv?: ReadonlyArray<string> } = {},
): Child => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...(options.execArgv ?? []), join(root, "bench", "src", file), ...args],
    // "advanced" (structured clone) keeps Infinity and NaN, which JSON would turn into null.
    { cwd: root, stdio: ["ignore", process.stderr, "inherit", "ipc"], serialization: "advanced" },
  )
  live.add(child)
  const inbox: Array<Message> = []
  const waiters = new Set<{ match: (message: Message) => boolean; resolve: (message: Message) => void }>()
  child.on("message", (message: Message) => {
    for (const waiter of waiters)
      if (waiter.match(message)) {
        waiters.delete(waiter)
        waiter.resolve(message)
        return
      }
    inbox.push(message)
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      live.delete(child)
      resolve(code)
    }),
  )
  const next = (match: (message: Message) => boolean, timeoutMs: number) => {
    const waiting = inbox.findIndex(match)
    if (waiting >= 0) return Promise.resolve(inbox.splice(waiting, 1)[0] as Message)
    return new Promise<Message>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (message: Message) => {
          clearTimeout(timer)
          resolve(message)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`${file} (pid ${child.pid}) sent no expected message within ${timeoutMs} ms`))
      }, timeoutMs)
      waiters.add(waiter)
      void exited.then((code) => {
        if (!waiters.delete(waiter)) return
        clearTimeout(timer)
        reject(new Error(`${file} (pid ${child.pid}) exited (code ${code}) before sending the expected message`))
      })
    })
  }
  return {
    pid: child.pid ?? -1,
    process: child,
    send: (message) => {
      if (child.connected) child.send(message)
    },
    next,
    exited,
  }
}

/** Asks a child to `stop` and waits for it to exit; SIGKILL if it has not within 10 s. */
export const stop = async (child: Child): Promise<void> => {
  child.send({ type: "stop" })
  const timer = setTimeout(() => child.process.kill("SIGKILL"), 10_000)
  await child.exited
  clearTimeout(timer)
}

/** In a child: the channel to the parent, and exit when it closes (the parent is gone). */
export const parent = {
  send: (message: Message): void => {
    process.send?.(message)
  },
  onMessage: (handler: (message: Message) => void): void => {
    process.on("message", handler)
  },
  exitWithParent: (): void => {
    process.on("disconnect", () => process.exit(1))
  },
}
