/**
 * Which API key `npm start`'s demo submits with. With API keys configured (`EDDY_API_KEYS`, or the
 * file named by `EDDY_API_KEYS_FILE`, read in the gateway's order), the gateway answers 401 to a
 * request without one, so the demo uses the first key with the submit scope (or admin, which
 * implies it). The gateway has already checked the keys' format when this runs.
 */
import { readFileSync } from "node:fs"
import { Config, ConfigError, Effect, Option, Redacted } from "effect"

/** How the demo may submit: openly, with a key, or not at all (no configured key may submit). */
export type Access =
  | { readonly _tag: "open" }
  | { readonly _tag: "key"; readonly key: Redacted.Redacted<string> }
  | { readonly _tag: "noSubmitKey" }

const entries = (text: string) =>
  text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")

/** How the demo may submit given the configured keys' text (`key:scope+scope,…`). */
export const accessFor = (text: string): Access => {
  const all = entries(text)
  // No entries: the gateway runs open, as without the setting.
  if (all.length === 0) return { _tag: "open" }
  for (const entry of all) {
    const at = entry.lastIndexOf(":")
    const scopes = at > 0 ? entry.slice(at + 1).split("+") : []
    if (scopes.includes("submit") || scopes.includes("admin"))
      return { _tag: "key", key: Redacted.make(entry.slice(0, at)) }
  }
  return { _tag: "noSubmitKey" }
}

/** The demo's access, from the settings the gateway reads (it has read them already). */
export const access: Effect.Effect<Access, ConfigError.ConfigError> = Effect.gen(function* () {
  const inline = yield* Config.option(Config.redacted("EDDY_API_KEYS"))
  if (Option.isSome(inline)) return accessFor(Redacted.value(inline.value))
  const file = yield* Config.option(Config.string("EDDY_API_KEYS_FILE"))
  if (Option.isNone(file)) return { _tag: "open" }
  return yield* Effect.try({
    try: () => accessFor(readFileSync(file.value, "utf8")),
    catch: () => ConfigError.InvalidData(["EDDY_API_KEYS_FILE"], `cannot read ${JSON.stringify(file.value)}`),
  })
})
