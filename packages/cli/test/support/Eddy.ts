/**
 * The `eddy` CLI as a real subprocess: `node --conditions=@eddy/source --import tsx
 * packages/cli/src/main.ts <args>` from the repository root, with an environment of our choosing
 * (no `EDDY_*` variable leaks in from the one running the tests).
 *
 * `run` waits for a command to end; `start` keeps a long-running one (worker, tail, gateway …)
 * and reads its output as it comes. Every started process is tracked: `killAll` (after each
 * test) SIGKILLs what a failed test left behind, and long-running processes get a pipe on stdin
 * that they can watch (fixtures/guard.ts) to die with the test process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as TestRedis from "../../../core/test/support/TestRedis.js"

/** The repository root: every command runs from here. */
export const root = fileURLToPath(new URL("../../../../", import.meta.url))

const main = "packages/cli/src/main.ts"

/** A fixture file, as a path relative to the root (what an operator would type). */
export const fixture = (name: string) => `packages/cli/test/fixtures/${name}`

export type Env = Readonly<Record<string, string | undefined>>

/** The run's Redis and a key prefix of the test's own. */
export const redisEnv = (prefix: string): Env => ({ ...TestRedis.env(), EDDY_PREFIX: prefix })

/** This process's environment without its `EDDY_*` variables, with `env` over it. */
export const environment = (env: Env): NodeJS.ProcessEnv => {
  const result: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("EDDY_")) result[key] = value
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete result[key]
    else result[key] = value
  }
  return result
}

/** `ESC[…m` and friends: @effect/cli colours its help even on a pipe. */
const escapeSequence = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g")
export const plain = (text: string) => text.replace(escapeSequence, "")

/** The lines of an output, without the trailing empty one. */
export const linesOf = (text: string) => text.split("\n").filter((line) => line !== "")

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** Wall time, start to exit. */
  readonly ms: number
}

/** For failing assertions: what the command printed. */
export const describe = (args: ReadonlyArray<string>, result: Result) =>
  `eddy ${args.join(" ")} → ${result.code ?? result.signal} in ${result.ms} ms\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`

const live = new Set<ChildProcess>()

const spawnEddy = (args: ReadonlyArray<string>, env: Env) => {
  const child = spawn(process.execPath, ["--conditions=@eddy/source", "--import", "tsx", main, ...args], {
    cwd: root,
    env: environment(env),
    stdio: ["pipe", "pipe", "pipe"],
  })
  live.add(child)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    }),
  )
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

/** Runs a command to its end (SIGKILLed past `timeoutMs`). */
export const run = async (
  args: ReadonlyArray<string>,
  env: Env,
  options: { readonly timeoutMs?: number } = {},
): Promise<Result> => {
  const started = Date.now()
  const { child, exited, stdout, stderr } = spawnEddy(args, env)
  child.stdin?.end()
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
  // "exit" can come before the pipes are drained: wait for "close" too.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()))
  const { code, signal } = await exited
  await closed
  clearTimeout(timer)
  return { code, signal, stdout: stdout(), stderr: stderr(), ms: Date.now() - started }
}

/** Runs commands with at most `concurrency` at once (the machine is small), in order of results. */
export const runAll = async <A>(tasks: ReadonlyArray<() => Promise<A>>, concurrency = 3): Promise<Array<A>> => {
  const results: Array<A> = new Array(tasks.length)
  let next = 0
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await (tasks[index] as () => Promise<A>)()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, lane))
  return results
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export const eventually = async <A>(
  what: string,
  check: () => A | undefined | Promise<A | undefined>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export interface Process {
  readonly pid: number
  readonly args: ReadonlyArray<string>
  readonly stdout: () => string
  readonly stderr: () => string
  readonly isRunning: () => boolean
  /** Waits until the output (stdout, or stderr) satisfies `test`; fails early if the process exits. */
  readonly waitFor: (
    what: string,
    test: (output: string) => boolean,
    options?: { readonly stream?: "stdout" | "stderr"; readonly timeoutMs?: number },
  ) => Promise<void>
  /** Sends `signal` and waits for the exit (SIGKILL past `timeoutMs`). */
  readonly stop: (signal: NodeJS.Signals, timeoutMs?: number) => Promise<Result>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts a long-running command. */
export const start = (args: ReadonlyArray<string>, env: Env): Process => {
  const started = Date.now()
  const { child, exited, stdout, stderr } = spawnEddy(args, env)
  const isRunning = () => child.exitCode === null && child.signalCode === null
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()))
  const finished = async (): Promise<Result> => {
    const { code, signal } = await exited
    await closed
    return { code, signal, stdout: stdout(), stderr: stderr(), ms: Date.now() - started }
  }
  return {
    pid: child.pid ?? 0,
    args,
    stdout,
    stderr,
    isRunning,
    exited,
    waitFor: async (what, test, options = {}) => {
      await eventually(
        `eddy ${args.join(" ")}: ${what}`,
        () => {
          if (test(options.stream === "stderr" ? stderr() : stdout())) return true
          if (!isRunning())
            throw new Error(
              `eddy ${args.join(" ")} exited (${child.exitCode ?? child.signalCode}) before ${what}\n--- stdout\n${stdout()}\n--- stderr\n${stderr()}`,
            )
          return undefined
        },
        options.timeoutMs ?? 45_000,
      )
    },
    stop: async (signal, timeoutMs = 30_000) => {
      if (isRunning()) child.kill(signal)
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      const result = await finished()
      clearTimeout(timer)
      return result
    },
  }
}

/** SIGKILLs every process a test left running, and waits for them. */
export const killAll = async () => {
  const children = [...live]
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        }),
    ),
  )
}

// A test process that ends with children still running takes them along.
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

/** `eddy worker <module>` (a guarded fixture module), ready once it logs that it serves. */
export const startWorker = async (module: string, prefix: string, env: Env = {}) => {
  const worker = start(["worker", module], {
    ...redisEnv(prefix),
    EDDY_LOG_LEVEL: "info",
    EDDY_LOG_PRETTY: "false",
    EDDY_TEST_GUARD: "1",
    ...env,
  })
  await worker.waitFor("its serving line", (stderr) => /"msg":"worker \S+ serving /.test(stderr), {
    stream: "stderr",
  })
  const consumer = /"msg":"worker (\S+) serving /.exec(worker.stderr())?.[1] ?? ""
  return { worker, consumer }
}
