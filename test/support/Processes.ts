/**
 * Entry points as real processes, the way an operator or a process manager runs them: the test
 * starts the top process (npm, a wrapper, the CLI), signals only it (or its whole process group,
 * as a terminal's Ctrl-C does), and looks at the process table for whatever it left behind.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { join } from "node:path"

/** The repository root: every entry point runs from here. */
export const root = join(import.meta.dirname, "..", "..")

/** This process's environment without its `EDDY_*` variables, with `env` over it. */
export const environment = (env: Readonly<Record<string, string>>): NodeJS.ProcessEnv => {
  const result: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("EDDY_")) result[key] = value
  return { ...result, ...env }
}

export interface Top {
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the exit code (or signal) and when it came. */
  readonly exited: Promise<{
    readonly code: number | null
    readonly signal: NodeJS.Signals | null
    readonly at: number
  }>
  readonly isRunning: () => boolean
  /** Waits until `test` holds for the output (stdout + stderr), failing early if the process exits. */
  readonly waitFor: (what: string, test: (output: string) => boolean, timeoutMs?: number) => Promise<void>
}

const started = new Set<ChildProcess>()

/**
 * Starts `command` as the top process, in a process group of its own (so that a test can signal
 * the group as a terminal would, and clean the whole tree up).
 */
export const startTop = (command: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>): Top => {
  const child = spawn(command, args, {
    cwd: root,
    env: environment(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  })
  started.add(child)
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  const isRunning = () => child.exitCode === null && child.signalCode === null
  return {
    pid: child.pid ?? 0,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    isRunning,
    waitFor: async (what, test, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs
      while (!test(stdout + stderr)) {
        if (!isRunning())
          throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ${what}\n${stdout}\n${stderr}`)
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stdout}\n${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
  }
}

/** Every process below `pid` in the process table (children, grandchildren, …). */
export const descendants = (pid: number): Array<{ readonly pid: number; readonly args: string }> => {
  const table = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .flatMap((m) => (m === null ? [] : [{ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] as string }]))
  const found: Array<{ pid: number; args: string }> = []
  let parents = new Set([pid])
  while (parents.size > 0) {
    const next = table.filter((p) => parents.has(p.ppid))
    found.push(...next.map(({ pid, args }) => ({ pid, args })))
    parents = new Set(next.map((p) => p.pid))
  }
  return found
}

/** Whether a process still runs (a zombie awaiting its parent counts as gone). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const state = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim()
    return state !== "" && !state.startsWith("Z")
  } catch {
    return false
  }
}

/** Waits up to `timeoutMs` for every one of `pids` to be gone; returns those still running. */
export const survivors = async (
  processes: ReadonlyArray<{ readonly pid: number; readonly args: string }>,
  timeoutMs = 10_000,
) => {
  const deadline = Date.now() + timeoutMs
  let left = processes.filter((p) => isAlive(p.pid))
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = left.filter((p) => isAlive(p.pid))
  }
  return left
}

/** SIGKILLs every top process a test started and its group (what a failed test left behind). */
export const killAll = () => {
  for (const child of started) {
    if (child.pid === undefined) continue
    for (const p of descendants(child.pid)) {
      try {
        process.kill(p.pid, "SIGKILL")
      } catch {}
    }
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {}
  }
  started.clear()
}
