// Validation problems (GET /api/ppas/{id}/problems: [{path, code, message, severity}], paths by
// item id, e.g. "objectifs[<id>].besoin_ids", "actions[<id>].prestations[0]", "projet.date_fin"),
// attached to the fields registered under the matching key ("objectifs/<id>/besoin_ids").
// severity "bloquant" refuses the validation; "a_verifier" is shown but does not block.
import { h, replace } from './dom.js'
import { PROBLEM_SEVERITY_LABELS } from './labels.js'

export const BLOCKING = 'bloquant'

/** Whether a problem refuses the validation (a problem without severity, from an older
 * server, does). */
export function isBlocking (problem) {
  return (problem.severity || BLOCKING) === BLOCKING
}

/** The problems split as {blocking, warnings}, each in the server's (document) order. */
export function bySeverity (problems) {
  return {
    blocking: problems.filter(isBlocking),
    warnings: problems.filter((p) => !isBlocking(p))
  }
}

/** One problem's text: the message, prefixed with its severity when it does not block. */
export function problemText (problem) {
  return isBlocking(problem) ? problem.message : `${PROBLEM_SEVERITY_LABELS[problem.severity] || problem.severity} : ${problem.message}`
}

/**
 * A problem from the API: its path in the content, code and French message.
 * @typedef {{path: string, code: string, message: string}} Problem
 */

/**
 * The segments of a problem path: "actions[<id>].prestations[0]" -> ["actions", "<id>", "prestations", "0"].
 * @param {string} path
 * @returns {string[]}
 */
export function pathSegments (path) {
  const segments = []
  let current = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]
    if (ch === '.') {
      if (current) segments.push(current)
      current = ''
    } else if (ch === '[') {
      if (current) segments.push(current)
      current = ''
      const end = path.indexOf(']', i)
      segments.push(path.slice(i + 1, end === -1 ? path.length : end))
      i = end === -1 ? path.length : end
    } else {
      current += ch
    }
  }
  if (current) segments.push(current)
  return segments
}

export class ProblemRegistry {
  constructor () {
    this.entries = new Map() // key -> Set<{wrapper, control, slot}>
    this.problems = []
    this.listeners = new Set()
  }

  /**
   * Show the problems of `key` in entry.slot (and mark entry.control aria-invalid), until the
   * returned function is called.
   * @param {string} key
   * @param {{wrapper: HTMLElement, control?: HTMLElement | null, slot: HTMLElement}} entry
   * @returns {() => void}
   */
  register (key, entry) {
    if (!this.entries.has(key)) this.entries.set(key, new Set())
    this.entries.get(key).add(entry)
    this._paintEntry(key, entry)
    return () => this.entries.get(key)?.delete(entry)
  }

  /** The registered key a problem path belongs to (the field, else its nearest container). */
  keyOf (path) {
    const segments = pathSegments(path)
    for (let n = segments.length; n > 0; n--) {
      const key = segments.slice(0, n).join('/')
      if (this.entries.get(key)?.size) return key
    }
    return segments[0] || ''
  }

  /** @param {Problem[]} problems the PPA's current problems */
  set (problems) {
    this.problems = problems
    for (const [key, entries] of this.entries) for (const entry of entries) this._paintEntry(key, entry)
    for (const fn of this.listeners) fn(problems)
  }

  /**
   * @param {(problems: Problem[]) => void} fn called with every new list of problems
   * @returns {() => void}
   */
  onChange (fn) {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  messagesFor (key) {
    return this.problems.filter((p) => this.keyOf(p.path) === key)
  }

  /**
   * @param {string} key
   * @param {{control?: HTMLElement | null, slot: HTMLElement}} entry
   */
  _paintEntry (key, { control, slot }) {
    const mine = this.messagesFor(key)
    const signature = mine.map((p) => `${p.severity}:${p.message}`).join('\n')
    if (slot.dataset.signature === signature) return
    slot.dataset.signature = signature
    replace(slot, ...mine.map((p) => h('p', {
      class: ['problem', isBlocking(p) ? null : 'problem--warning'],
      dataset: { code: p.code, severity: p.severity || BLOCKING }
    },
    h('span', { class: 'problem__icon', 'aria-hidden': 'true' }, isBlocking(p) ? '!' : '?'), ' ', problemText(p))))
    if (control) {
      if (mine.some(isBlocking)) control.setAttribute('aria-invalid', 'true')
      else control.removeAttribute('aria-invalid')
    }
  }

  /**
   * Focus the field of a problem (for the summary's links).
   * @param {string} path
   * @returns {boolean} false when no field shows it
   */
  focus (path) {
    const key = this.keyOf(path)
    const entry = [...(this.entries.get(key) || [])][0]
    if (!entry) return false
    const target = entry.control && !entry.control.matches('fieldset')
      ? entry.control
      : entry.wrapper.querySelector('input, select, textarea, button') || entry.wrapper
    entry.wrapper.scrollIntoView({ block: 'center' })
    if (target === entry.wrapper) target.setAttribute('tabindex', '-1')
    target.focus()
    return true
  }
}
