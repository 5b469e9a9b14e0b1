#!/usr/bin/env node
// The `eddy` command: the built CLI when there is one, else its TypeScript sources through tsx
// (inside the workspace, where nothing needs building).
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const built = new URL("../dist/main.js", import.meta.url)
if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  const source = fileURLToPath(new URL("../src/main.ts", import.meta.url))
  const result = spawnSync(
    process.execPath,
    ["--conditions=@eddy/source", "--import", "tsx", source, ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  )
  process.exit(result.status ?? 1)
}
