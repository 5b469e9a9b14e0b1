/**
 * A worker process: `node main.ts <module> [--concurrency N]`, where the module's default export
 * is the array of handlers (made with `Worker.handle` / `Worker.handleAsync`) to host.
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as Worker from "./Worker.js"

const usage = "usage: worker <module> [--concurrency N]"
const [modulePath, ...rest] = process.argv.slice(2)
const at = rest.indexOf("--concurrency")
const concurrency = at >= 0 ? Number(rest[at + 1]) : undefined
if (modulePath === undefined || (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0))) {
  console.error(usage)
  process.exit(2)
}
const loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { default?: unknown }
const handlers = loaded.default
if (!Array.isArray(handlers) || handlers.length === 0 || !handlers.every((h) => typeof h?.run === "function")) {
  console.error(`${modulePath}: the default export must be a non-empty array of handlers (Worker.handle/handleAsync)`)
  process.exit(2)
}
Worker.runMain({ handlers, ...(concurrency === undefined ? {} : { concurrency }) })
