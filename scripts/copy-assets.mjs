#!/usr/bin/env node
// tsc emits only JavaScript; the Lua scripts and the Redis supervisor are read at run time from
// beside the compiled modules, so each package's src/internal assets are copied into dist/.
import { cpSync, existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
for (const pkg of ["core", "workers", "gateway"]) {
  const from = join(root, "packages", pkg, "src/internal")
  const to = join(root, "packages", pkg, "dist/internal")
  if (existsSync(from) && existsSync(join(root, "packages", pkg, "dist"))) {
    cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith(".ts") })
  }
}
