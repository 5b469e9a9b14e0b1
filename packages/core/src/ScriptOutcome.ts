/**
 * The one place where the scripts' return codes become typed outcomes. Every script answers
 * `{code, ...}`; a positive code is success, a negative one a refusal that changed nothing.
 */
import { ActorPaused, CancelRequested, JobAlreadyFinished, JobNotFound, JobNotInState, LeaseLost } from "./JobErrors.js"
import type { Reply } from "./Scripts.js"

/** Return codes shared by every script (see `lib/records.lua`). */
export const Code = {
  ok: 1,
  duplicate: 2,
  lost: -1,
  notFound: -2,
  terminal: -3,
  cancelRequested: -4,
  wrongState: -5,
  actorPaused: -6,
} as const

/**
 * A script's refusal. All but one changed nothing: `CancelRequested` from complete, fail or
 * release means the job was cancelled instead (the cancel wins), and from progress that the
 * progress was recorded and the worker should stop.
 */
export type Refusal = LeaseLost | JobNotFound | JobAlreadyFinished | CancelRequested | JobNotInState | ActorPaused

/** The code of a reply. */
export const codeOf = (reply: Reply): number => Number(reply[0])

/** The refusal a negative reply stands for; `expected` names the state the operation needs. */
export const refusal = (jobId: string, reply: Reply, expected = "running"): Refusal => {
  switch (codeOf(reply)) {
    case Code.lost:
      return new LeaseLost({ jobId })
    case Code.notFound:
      return new JobNotFound({ jobId })
    case Code.terminal:
      // The third item is there only in answers to fenced worker calls.
      return new JobAlreadyFinished(
        reply[2] === undefined
          ? { jobId, state: String(reply[1]) }
          : { jobId, state: String(reply[1]), byThisWorker: Number(reply[2]) === 1 },
      )
    case Code.actorPaused:
      return new ActorPaused({ jobId })
    case Code.cancelRequested:
      return new CancelRequested({ jobId })
    default:
      return new JobNotInState({ jobId, state: String(reply[1] ?? "unknown"), expected })
  }
}
