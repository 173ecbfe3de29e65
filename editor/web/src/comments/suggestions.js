// Suggestions in the comments panel: the form proposing a new text for the chosen field (its
// current text to start from), and the list of suggestions with "Accepter" / "Refuser" for
// members who edit. Accepting writes the text into the live document on the server (the old text
// removed by the acceptor, the new one by the suggester): open editors see it at once.
import { api } from '../api.js'
import { announce, formatDateTime, h, uid } from '../dom.js'
import { textAt } from './anchors.js'

const STATUS = { pending: 'En attente', accepted: 'Acceptée', rejected: 'Refusée' }

/**
 * @param {object} options
 * @param {string} options.base "/api/ppas/<id>"
 * @param {import('yjs').Doc} options.doc
 * @param {string} options.anchor the chosen field
 * @param {() => Promise<void>} options.onDone
 * @returns {HTMLElement}
 */
export function suggestForm ({ base, doc, anchor, onDone }) {
  const current = textAt(doc, anchor)
  if (current === null) {
    return h('p', { class: 'hint' }, 'Pour proposer une modification, choisissez un champ de texte (titre, description…).')
  }
  const id = uid('suggest')
  const noteId = uid('note')
  const area = h('textarea', { id, rows: '3', maxlength: '20000' })
  area.value = current
  const note = h('input', { id: noteId, type: 'text', maxlength: '5000' })
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const send = h('button', { type: 'submit', class: 'btn' }, 'Proposer')
  const form = h('form', { class: 'composer' },
    h('label', { for: id }, 'Texte proposé pour ce champ'), area,
    h('label', { for: noteId }, 'Pourquoi (facultatif)'), note,
    error, h('div', { class: 'composer__actions' }, send))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    send.disabled = true
    error.hidden = true
    try {
      await api(`${base}/suggestions`, { method: 'POST', json: { anchor, text: area.value, note: note.value } })
      announce('Suggestion envoyée.')
      await onDone()
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure)
      error.hidden = false
    } finally {
      send.disabled = false
    }
  })
  return h('details', { class: 'suggest' }, h('summary', {}, 'Proposer une modification de ce champ'), form)
}

/**
 * @param {object} options
 * @param {string} options.base
 * @param {Array<any>} options.suggestions
 * @param {boolean} options.canDecide
 * @param {(anchor: string) => string} options.describe
 * @param {() => Promise<void>} options.onDone
 * @returns {Array<HTMLElement>}
 */
export function suggestionList ({ base, suggestions, canDecide, describe, onDone }) {
  if (!suggestions.length) return [h('p', { class: 'muted' }, 'Aucune suggestion.')]
  const view = (s) => {
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
    const decide = (verdict) => async () => {
      error.hidden = true
      try {
        await api(`${base}/suggestions/${s.id}/${verdict}`, { method: 'POST' })
        announce(verdict === 'accept' ? 'Suggestion acceptée : le champ est modifié.' : 'Suggestion refusée.')
        await onDone()
      } catch (failure) {
        error.textContent = failure instanceof Error ? failure.message : String(failure)
        error.hidden = false
      }
    }
    const title = describe(s.anchor)
    return h('article', { class: `suggestion suggestion--${s.status}`, dataset: { suggestion: s.id }, 'aria-label': `Suggestion : ${title}` },
      h('h4', {}, title),
      h('p', { class: 'thread__meta' }, h('strong', {}, s.author_name || 'Un membre'), ` · ${formatDateTime(s.created_at)} · `,
        h('span', { class: 'badge' }, STATUS[s.status] || s.status),
        s.decided_by_name ? ` par ${s.decided_by_name}` : ''),
      h('p', {}, h('span', { class: 'muted' }, 'Avant : '), h('del', { class: 'diff-removed' }, s.base || '(vide)')),
      h('p', {}, h('span', { class: 'muted' }, 'Proposé : '), h('ins', { class: 'diff-added' }, s.proposed || '(vide)')),
      s.note ? h('p', { class: 'muted' }, `Pourquoi : ${s.note}`) : null,
      error,
      canDecide && s.status === 'pending'
        ? h('div', { class: 'composer__actions' },
          h('button', { type: 'button', class: 'btn btn--primary', on: { click: decide('accept') } }, 'Accepter'),
          h('button', { type: 'button', class: 'btn', on: { click: decide('reject') } }, 'Refuser'))
        : null)
  }
  const pending = suggestions.filter((s) => s.status === 'pending')
  const decided = suggestions.filter((s) => s.status !== 'pending')
  return [
    ...(pending.length ? pending.map(view) : [h('p', { class: 'muted' }, 'Aucune suggestion en attente.')]),
    decided.length ? h('details', {}, h('summary', {}, `Suggestions traitées (${decided.length})`), decided.map(view)) : null
  ].filter(Boolean)
}
