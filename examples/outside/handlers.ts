// The handlers: the default export is the array `eddy worker ./handlers.ts` hosts.
import { Worker } from "@eddy/workers"
import { Effect } from "effect"
import { Shout } from "./contracts.ts"

export default [Worker.handle(Shout, ({ text }) => Effect.succeed({ text: `${text.toUpperCase()}!` }))]
