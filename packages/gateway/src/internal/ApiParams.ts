/** Path and query-string Schemas that several endpoint groups of the API share. */
import { Schema } from "effect"

/** Text of 1 to `max` characters. */
export const Text = (max: number) => Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max))

/** A path naming a job. */
export const JobPath = Schema.Struct({ jobId: Schema.String.pipe(Schema.maxLength(200)) })
/** A path naming an actor. */
export const ActorPath = Schema.Struct({ actor: Schema.String.pipe(Schema.maxLength(200)) })
/** An integer query parameter within `min`..`max`. */
export const IntParam = (min: number, max: number) =>
  Schema.NumberFromString.pipe(Schema.int(), Schema.between(min, max))
