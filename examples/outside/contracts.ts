// The contracts: what producers, `eddy gateway` and `eddy submit --contracts` import. The
// default export is the array `eddy gateway ./contracts.ts` serves.
import { Actor } from "@eddy/core"
import { Schema } from "effect"

export const Shout = Actor.define("shout", {
  input: Schema.Struct({ text: Schema.String.pipe(Schema.minLength(1)) }),
  output: Schema.Struct({ text: Schema.String }),
  policy: { attempts: 3, timeout: "10 seconds" },
})

export default [Shout]
