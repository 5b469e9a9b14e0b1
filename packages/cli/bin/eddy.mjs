#!/usr/bin/env node
// The `eddy` command: the built CLI when there is one, else its TypeScript sources through tsx
// (inside the workspace, where nothing needs building).
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { constants } from "node:os"
import { fileURLToPath } from "node:url"

const built = new URL("../dist/main.js", import.meta.url)
if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  const source = fileURLToPath(new URL("../src/main.ts", import.meta.url))
  const child = spawn(
    process.execPath,
    ["--conditions=@eddy/source", "--import", "tsx", source, ...process.argv.slice(2)],
    { stdio: "inherit" },
  )
  // This wrapper stands for the CLI: a process manager signals only the process it started, so
  // every stop signal is passed on (SIGHUP as SIGTERM, a graceful stop), and we exit with the
  // CLI's code once it has drained. The CLI takes copies of one signal that arrive together (a
  // terminal's Ctrl-C reaches both of us) as one request, so its grace is kept.
  const pass = (signal) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  process.on("SIGINT", pass("SIGINT"))
  process.on("SIGTERM", pass("SIGTERM"))
  process.on("SIGHUP", pass("SIGTERM"))
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)))
}
