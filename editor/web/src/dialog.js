// Accessible modal dialogs on the native <dialog> (focus trapped, Escape closes, focus restored).
import { h, uid } from './dom.js'

/**
 * openDialog({title, describe?, build: (close) => Node, className?}) -> {dialog, close(result), result: Promise}
 * @param {object} options
 * @param {string} options.title heading of the dialog (its accessible name)
 * @param {string | null} [options.describe] a paragraph under the title (its accessible description)
 * @param {(close: (value?: any) => void) => Node} options.build the body; `close(value)` resolves `result`
 * @param {string} [options.className] extra class of the <dialog>
 * @returns {{dialog: HTMLDialogElement, close: (value?: any) => void, result: Promise<any>}}
 */
export function openDialog ({ title, describe, build, className }) {
  const titleId = uid('dlg')
  const descId = describe ? `${titleId}-desc` : null
  const opener = /** @type {HTMLElement | null} */ (document.activeElement)
  let resolve
  const result = new Promise((r) => { resolve = r })
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: ['dialog', className], 'aria-labelledby': titleId, 'aria-describedby': descId }))
  const close = (value = null) => {
    if (dialog.open) dialog.close()
    dialog.remove()
    resolve(value)
    if (opener && document.contains(opener)) opener.focus()
  }
  dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(null) })
  dialog.append(
    h('div', { class: 'dialog__head' },
      h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'btn btn--ghost btn--icon', 'aria-label': 'Fermer', on: { click: () => close(null) } }, '×')),
    describe ? h('p', { id: descId, class: 'dialog__desc' }, describe) : null,
    build(close)
  )
  document.body.append(dialog)
  dialog.showModal()
  /** @type {HTMLElement | null} */
  const first = dialog.querySelector('[autofocus]') || dialog.querySelector('input, select, textarea, button:not(.btn--icon)')
  if (first) first.focus()
  return { dialog, close, result }
}

/**
 * A yes/no question; resolves to true (confirmed), false or null (cancelled).
 * @param {string} message
 * @param {{confirmLabel?: string, danger?: boolean, title?: string, details?: Node | null}} [options]
 *   danger: a destructive action; details: what it affects (e.g. the changes lost), under the question
 * @returns {Promise<boolean | null>}
 */
export function confirmDialog (message, { confirmLabel = 'Confirmer', danger = false, title = 'Confirmation', details = null } = {}) {
  return openDialog({
    title,
    describe: message,
    build: (close) => h('div', {},
      details ? h('div', { class: 'dialog__details' }, details) : null,
      h('div', { class: 'dialog__actions' },
        // a destructive action starts on "Annuler": Enter alone never deletes
        h('button', { type: 'button', class: 'btn', autofocus: danger, on: { click: () => close(false) } }, 'Annuler'),
        h('button', { type: 'button', class: ['btn', danger ? 'btn--danger' : 'btn--primary'], autofocus: !danger, on: { click: () => close(true) } }, confirmLabel)))
  }).result
}
