#!/usr/bin/env node
// tsc emits only JavaScript; the Lua scripts and the Redis supervisor are read at run time from
// beside the compiled modules, so they are copied into dist/ after `tsc -b`.
import { cpSync, existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const from = join(root, "packages/core/src/internal")
const to = join(root, "packages/core/dist/internal")
if (existsSync(join(root, "packages/core/dist"))) {
  cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith(".ts") })
}
