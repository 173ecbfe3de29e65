// Undo of one's own deletions (issue 17): a Yjs UndoManager tracks only the transactions this
// page marks as undoable (deleting an item or a planning), never a colleague's changes nor text
// typing (a text field keeps the browser's own Ctrl+Z). After a deletion an "Annuler" notice
// stays for a while; Ctrl+Z (Cmd+Z) outside a text field undoes, Ctrl+Shift+Z / Ctrl+Y redoes.
import * as Y from 'yjs'
import { announce, h } from '../dom.js'

/** Transaction origin of the changes one may undo. */
export const UNDOABLE = { name: 'ppa-undoable' }
export const UNDO_NOTICE_MS = 12000

/** Whether Ctrl+Z in this element belongs to the element (text editing). */
function editsText (el) {
  if (!(el instanceof HTMLElement)) return false
  if (el.isContentEditable || el instanceof HTMLTextAreaElement) return true
  return el instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'submit', 'reset', 'file', 'color', 'range'].includes(el.type)
}

/**
 * @param {{doc: Y.Doc, roots: Record<string, Y.AbstractType<any>>, canWrite: () => boolean}} options
 * @returns {{el: HTMLElement, undoable: (fn: () => void, message: string, focusId?: string | null) => void, destroy: () => void}}
 */
export function mountUndo ({ doc, roots, canWrite }) {
  const manager = new Y.UndoManager(Object.values(roots), { trackedOrigins: new Set([UNDOABLE]), captureTimeout: 0 })
  const text = h('span', {})
  const button = h('button', { type: 'button', class: 'btn btn--small undo-notice__button' }, 'Annuler')
  const el = h('div', { class: 'undo-notice', role: 'status', hidden: true }, text, ' ', button)
  let timer = null
  let focusId = null
  const hide = () => { el.hidden = true; clearTimeout(timer) }
  const refocus = (id) => {
    if (!id) return
    requestAnimationFrame(() => {
      const card = document.querySelector(`[data-item-id="${CSS.escape(id)}"]`)
      /** @type {HTMLElement | null | undefined} */
      const target = card?.querySelector('input, textarea, select, button')
      target?.focus()
    })
  }
  const undo = () => {
    if (!manager.canUndo() || !canWrite()) return false
    manager.undo()
    hide()
    announce('Suppression annulée.')
    refocus(focusId)
    return true
  }
  button.addEventListener('click', undo)
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || editsText(event.target)) return
    if (document.querySelector('dialog[open]')) return
    const key = event.key.toLowerCase()
    if (key === 'z' && !event.shiftKey) {
      if (undo()) event.preventDefault()
    } else if ((key === 'z' && event.shiftKey) || key === 'y') {
      if (manager.canRedo() && canWrite()) { event.preventDefault(); manager.redo(); announce('Suppression refaite.') }
    }
  }
  document.addEventListener('keydown', onKey)
  return {
    el,
    undoable (fn, message, id = null) {
      doc.transact(fn, UNDOABLE)
      manager.stopCapturing()
      focusId = id
      text.textContent = `${message} `
      el.hidden = false
      clearTimeout(timer)
      timer = setTimeout(hide, UNDO_NOTICE_MS)
    },
    destroy () {
      clearTimeout(timer)
      document.removeEventListener('keydown', onKey)
      manager.destroy()
    }
  }
}
