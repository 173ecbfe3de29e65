// A comment's text box with @mentions: typing "@" and the start of a name offers the cercle's
// members who read the PPA; choosing one writes "@Name" in the text. The members mentioned are
// those whose "@Name" is in the text when it is sent (the server checks each of them).
import { h, uid } from '../dom.js'

/** @typedef {{user_id: string, display_name: string}} Mentionable */

const fold = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()

/**
 * @param {object} options
 * @param {string} options.label the text box's label
 * @param {string} options.submitLabel
 * @param {() => Mentionable[]} options.members who may be mentioned
 * @param {(text: string, mentions: string[]) => Promise<void>} options.onSubmit
 * @param {string} [options.testid]
 * @returns {HTMLFormElement}
 */
export function composer ({ label, submitLabel, members, onSubmit, testid }) {
  const id = uid('comment')
  const hintId = `${id}-hint`
  const area = h('textarea', { id, rows: '3', maxlength: '5000', 'aria-describedby': hintId, required: true })
  const picks = h('ul', { class: 'mention-picks', hidden: true, 'aria-label': 'Membres à mentionner' })
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const send = h('button', { type: 'submit', class: 'btn btn--primary' }, submitLabel)
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'composer', dataset: { testid: testid || '' } },
    h('label', { for: id }, label),
    h('p', { class: 'hint', id: hintId }, 'Tapez @ puis un nom pour prévenir un membre du cercle.'),
    area, picks, error, h('div', { class: 'composer__actions' }, send)))

  const query = () => {
    const before = area.value.slice(0, area.selectionStart ?? area.value.length)
    const found = /(?:^|\s)@([^\s@]{0,30})$/.exec(before)
    return found ? found[1] : null
  }
  const insert = (member) => {
    const caret = area.selectionStart ?? area.value.length
    const before = area.value.slice(0, caret).replace(/@([^\s@]{0,30})$/, `@${member.display_name} `)
    area.value = before + area.value.slice(caret)
    area.focus()
    area.setSelectionRange(before.length, before.length)
    picks.hidden = true
  }
  area.addEventListener('input', () => {
    const q = query()
    if (q === null) { picks.hidden = true; return }
    const matches = members().filter((m) => fold(m.display_name).includes(fold(q))).slice(0, 6)
    picks.replaceChildren(...matches.map((m) => h('li', {}, h('button', {
      type: 'button', class: 'link', on: { click: () => insert(m) }
    }, `Mentionner ${m.display_name}`))))
    picks.hidden = matches.length === 0
  })
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const text = area.value.trim()
    if (!text) return
    const mentions = members().filter((m) => text.includes(`@${m.display_name}`)).map((m) => m.user_id)
    send.disabled = true
    error.hidden = true
    try {
      await onSubmit(text, [...new Set(mentions)])
      area.value = ''
      picks.hidden = true
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure)
      error.hidden = false
    } finally {
      send.disabled = false
    }
  })
  return form
}
