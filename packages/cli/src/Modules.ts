/**
 * Loads user modules named on the command line: handler modules (`eddy worker`, `eddy replay
 * --handlers`) and contract modules (`eddy gateway`, `eddy submit --contracts`). Each module's
 * default export is an array.
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Actor } from "@eddy/core"
import type { Handler } from "@eddy/workers"
import { Effect } from "effect"
import { CliFailure } from "./Output.js"

const load = (path: string) =>
  Effect.tryPromise({
    try: async () => ((await import(pathToFileURL(resolve(path)).href)) as { default?: unknown }).default,
    catch: (error) =>
      new CliFailure({ message: `cannot load ${path}: ${error instanceof Error ? error.message : String(error)}` }),
  })

const isContract = (value: unknown): value is Actor.Any =>
  typeof value === "object" && value !== null && "name" in value && "input" in value && "policy" in value

const isHandler = (value: unknown): value is Handler.Any =>
  typeof value === "object" && value !== null && "run" in value && "contract" in value && isContract(value.contract)

/** A module whose default export is a non-empty array of handlers. */
export const handlers = (path: string) =>
  load(path).pipe(
    Effect.filterOrFail(
      (value): value is ReadonlyArray<Handler.Any> =>
        Array.isArray(value) && value.length > 0 && value.every(isHandler),
      () =>
        new CliFailure({
          message: `${path}: the default export must be a non-empty array of handlers (Worker.handle)`,
        }),
    ),
  )

/** A module whose default export is an array of contracts (Actor.define). */
export const contracts = (path: string) =>
  load(path).pipe(
    Effect.filterOrFail(
      (value): value is ReadonlyArray<Actor.Any> => Array.isArray(value) && value.every(isContract),
      () => new CliFailure({ message: `${path}: the default export must be an array of contracts (Actor.define)` }),
    ),
  )
