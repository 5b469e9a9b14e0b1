/**
 * Buttons that change something: admin ones ask for confirmation in a dialog first, every one
 * shows what the gateway answered (its error message as is) next to it.
 */
import { useState } from "preact/hooks"
import { ApiError } from "./Client.js"

interface Props {
  readonly label: string
  /** Asked before acting; absent: acts at once. */
  readonly confirm?: string
  readonly run: () => Promise<unknown>
  /** Text shown after success (from the answer). */
  readonly done?: (answer: unknown) => string
  readonly after?: () => void
  readonly danger?: boolean
  readonly testId?: string
}

export const ActionButton = (props: Props) => {
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  const [note, setNote] = useState<{ ok: boolean; text: string } | undefined>(undefined)
  const act = async () => {
    setAsking(false)
    setBusy(true)
    setNote(undefined)
    try {
      const answer = await props.run()
      setNote({ ok: true, text: props.done?.(answer) ?? "done" })
      props.after?.()
    } catch (error) {
      setNote({ ok: false, text: error instanceof ApiError ? error.message : String(error) })
    } finally {
      setBusy(false)
    }
  }
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger === true ? "danger" : ""}
        disabled={busy}
        data-testid={props.testId}
        onClick={() => (props.confirm === undefined ? void act() : setAsking(true))}
      >
        {props.label}
      </button>
      {note !== undefined && (
        <span class={note.ok ? "note ok" : "note error"} role="status">
          {note.text}
        </span>
      )}
      {asking && (
        <div class="modal" role="dialog" aria-modal="true" aria-label="Confirm">
          <div class="modal-box">
            <p>{props.confirm}</p>
            <div class="modal-buttons">
              <button type="button" onClick={() => setAsking(false)}>
                Cancel
              </button>
              <button type="button" class="danger" data-testid="confirm" onClick={() => void act()}>
                Confirm
              </button>
            </div>
          </div>
        </div>
      )}
    </span>
  )
}

/** A bulk action's answer in words. */
export const bulkDone = (answer: unknown): string => {
  const result = answer as { matched: number; done: number; failed: ReadonlyArray<{ message: string }>; more: boolean }
  const refused =
    result.failed.length === 0 ? "" : `; ${result.matched - result.done} refused (${result.failed[0]?.message})`
  return `${result.done} of ${result.matched} done${refused}${result.more ? "; more left: run it again" : ""}`
}

/** An error message box. */
export const ErrorNote = ({ error }: { readonly error: unknown }) =>
  error === undefined ? null : (
    <p class="error" role="alert">
      {error instanceof ApiError ? error.message : String(error)}
    </p>
  )
