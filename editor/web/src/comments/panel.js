// The comments panel of the editor: threads anchored on a field or an item, replies,
// resolve/reopen, @mentions, and suggestions (a reader or the person proposes a new text for a
// field; a member who edits accepts or rejects it). Everything is the REST resource
// /api/ppas/{id}/comments, kept live by its Server-Sent Events stream (…/comments/stream):
// comments live beside the PPA's document, never in it (docs/collaboration.md).
import { api } from '../api.js'
import { announce, debounce, formatDateTime, h, replace, uid } from '../dom.js'
import { describeAnchor, elementOf, goToAnchor, itemOf } from './anchors.js'
import { composer } from './composer.js'
import { suggestionList, suggestForm } from './suggestions.js'

const WRITERS = new Set(['coordinator', 'contributor'])
const COMMENTERS = new Set(['coordinator', 'contributor', 'reader', 'person', 'aidant'])

/**
 * @param {HTMLElement} aside the panel's element (hidden until opened)
 * @param {object} options
 * @param {string} options.ppaId
 * @param {string} options.role the user's role in the cercle
 * @param {{id: string, display_name: string}} options.me
 * @param {import('yjs').Doc} options.doc the live document (current texts of suggestions)
 * @param {HTMLElement} options.formRoot the form (the field last focused or clicked is the target)
 * @param {(open: number) => void} options.onCount open threads + pending suggestions
 */
export function mountComments (aside, { ppaId, role, me, doc, formRoot, onCount }) {
  const base = `/api/ppas/${encodeURIComponent(ppaId)}`
  const canComment = COMMENTERS.has(role)
  const canDecide = WRITERS.has(role)
  // who may be mentioned: the server's list (members who read the PPA, by login)
  const members = () => (data?.mentionable || []).filter((m) => m.user_id !== me.id)
  let target = 'ppa'
  /** @type {{threads: any[], suggestions: any[], mentionable: Array<{user_id: string, display_name: string}>} | null} */
  let data = null
  let seen = new Set()
  /** the version whose comments are shown ('' = now): as they were when it was recorded */
  let asOf = ''

  const headingId = uid('comments-title')
  const status = h('p', { class: 'muted', role: 'status' })
  const targetId = uid('target')
  const targetSelect = h('select', { id: targetId, 'data-testid': 'comment-target' })
  const targetHint = h('p', { class: 'hint' }, 'Cliquez dans un champ du PPA (ou choisissez-le ici) pour le commenter.')
  const threadsEl = h('div', { class: 'threads', 'data-testid': 'threads' })
  const resolvedEl = h('details', { class: 'threads threads--resolved', hidden: true })
  const suggestionsEl = h('div', { class: 'suggestions', 'data-testid': 'suggestions' })
  const suggestSlot = h('div', {})
  const versionId = uid('as-of')
  const versionSelect = h('select', { id: versionId, 'data-testid': 'comments-as-of' }, h('option', { value: '' }, 'Maintenant'))
  const writeArea = h('div', {})
  versionSelect.addEventListener('change', () => { asOf = versionSelect.value; load() })
  const paintVersions = async () => {
    try {
      const versions = await api(`${base}/versions`)
      replace(versionSelect, h('option', { value: '' }, 'Maintenant'),
        [...versions].sort((a, b) => b.number - a.number).map((v) => h('option', { value: String(v.number) }, `À la version ${v.number} (${v.label})`)))
      versionSelect.value = asOf
    } catch { /* the list stays "Maintenant" */ }
  }

  const paintTargets = () => {
    const fields = [...formRoot.querySelectorAll('[data-field]')]
      .map((el) => /** @type {HTMLElement} */ (el).dataset.field || '')
      .filter((key, i, all) => key && all.indexOf(key) === i)
    const options = ['ppa']
    if (target !== 'ppa') options.push(target)
    if (itemOf(target) && itemOf(target) !== target) options.push(itemOf(target))
    replace(targetSelect,
      options.map((a) => h('option', { value: a, selected: a === target }, describeAnchor(a))),
      fields.length ? h('optgroup', { label: 'Autres champs affichés' },
        fields.filter((f) => !options.includes(f)).map((f) => h('option', { value: f }, describeAnchor(f)))) : null)
    targetSelect.value = target
    paintSuggestForm()
  }
  targetSelect.addEventListener('change', () => { target = targetSelect.value; paintTargets() })
  const pick = (event) => {
    const key = /** @type {HTMLElement | null} */ (event.target.closest?.('[data-field]'))?.dataset.field
    if (key && key !== target) {
      target = key
      if (!aside.hidden) paintTargets()
    }
  }
  formRoot.addEventListener('focusin', pick)
  formRoot.addEventListener('click', pick)

  const newThread = canComment
    ? composer({
      label: 'Nouveau commentaire',
      submitLabel: 'Commenter',
      members,
      testid: 'new-comment',
      onSubmit: async (text, mentions) => {
        await api(`${base}/comments`, { method: 'POST', json: { anchor: target, text, mentions } })
        announce('Commentaire publié.')
        await load()
      }
    })
    : null

  function paintSuggestForm () {
    replace(suggestSlot, canComment ? suggestForm({ base, doc, anchor: target, onDone: load }) : null)
  }

  function entryView (entry) {
    const who = entry.author_name || 'Un membre'
    if (entry.kind === 'resolve' || entry.kind === 'reopen') {
      return h('li', { class: 'thread__event muted' },
        `${who} a ${entry.kind === 'resolve' ? 'résolu' : 'rouvert'} le fil · ${formatDateTime(entry.created_at)}`)
    }
    return h('li', { class: 'thread__entry' },
      h('p', { class: 'thread__meta' }, h('strong', {}, who), ` · ${formatDateTime(entry.created_at)}`,
        entry.version_number ? ` · après la version ${entry.version_number}` : ''),
      h('p', { class: 'thread__text' }, entry.text))
  }

  function threadView (thread) {
    const first = thread.entries[0]
    const live = !asOf
    const mayResolve = live && (canDecide || (canComment && first.author_id === me.id))
    const title = describeAnchor(thread.anchor)
    return h('article', { class: ['thread', thread.resolved ? 'thread--resolved' : null], dataset: { thread: thread.id, anchor: thread.anchor }, 'aria-label': `Fil : ${title}` },
      h('h3', { class: 'thread__anchor' }, title),
      thread.anchor !== 'ppa'
        ? h('button', { type: 'button', class: 'link', on: { click: () => goToAnchor(thread.anchor) } }, 'Voir dans le PPA')
        : null,
      h('ul', { class: 'thread__entries' }, thread.entries.map(entryView)),
      live && canComment && !thread.resolved
        ? composer({
          label: `Répondre (fil : ${title})`,
          submitLabel: 'Répondre',
          members,
          testid: 'reply',
          onSubmit: async (text, mentions) => {
            await api(`${base}/comments/${thread.id}/replies`, { method: 'POST', json: { text, mentions } })
            announce('Réponse publiée.')
            await load()
          }
        })
        : null,
      mayResolve
        ? h('button', {
          type: 'button',
          class: 'btn',
          on: {
            click: async () => {
              await api(`${base}/comments/${thread.id}/${thread.resolved ? 'reopen' : 'resolve'}`, { method: 'POST' })
              announce(thread.resolved ? 'Fil rouvert.' : 'Fil résolu.')
              await load()
            }
          }
        }, thread.resolved ? 'Rouvrir' : 'Résoudre')
        : null)
  }

  // the fields and items with open threads say so in the form (rebuilt forms are marked again)
  let marks = new Map()
  const paintMarks = () => {
    for (const el of formRoot.querySelectorAll('[data-comments]')) {
      el.removeAttribute('data-comments')
      el.removeAttribute('data-comments-label')
    }
    for (const [anchor, n] of marks) {
      const el = elementOf(anchor)
      if (!el || !formRoot.contains(el)) continue
      el.setAttribute('data-comments', String(n))
      el.setAttribute('data-comments-label', `${n} commentaire${n > 1 ? 's' : ''}`)
    }
  }
  const remark = debounce(paintMarks, 300)
  const observer = new MutationObserver((records) => {
    if (records.some((r) => r.type === 'childList')) remark()
  })
  observer.observe(formRoot, { childList: true, subtree: true })

  function paint () {
    if (!data) return
    if (!asOf) {
      marks = new Map()
      for (const t of data.threads) if (!t.resolved && t.anchor !== 'ppa') marks.set(t.anchor, (marks.get(t.anchor) || 0) + 1)
      paintMarks()
    }
    const open = data.threads.filter((t) => !t.resolved)
    const closed = data.threads.filter((t) => t.resolved)
    replace(threadsEl, open.length ? open.map(threadView) : h('p', { class: 'muted' }, 'Aucun commentaire ouvert.'))
    resolvedEl.hidden = closed.length === 0
    replace(resolvedEl, h('summary', {}, `Fils résolus (${closed.length})`), closed.map(threadView))
    replace(suggestionsEl, suggestionList({ base, suggestions: data.suggestions, canDecide: canDecide && !asOf, describe: describeAnchor, onDone: load }))
    writeArea.hidden = Boolean(asOf)
    if (asOf) return
    const pending = data.suggestions.filter((s) => s.status === 'pending').length
    onCount(open.length + pending)
  }

  async function load () {
    try {
      const next = await api(`${base}/comments${asOf ? `?version=${encodeURIComponent(asOf)}` : ''}`)
      if (asOf) {
        data = next
        status.textContent = `Commentaires tels qu'ils étaient à la version ${asOf} (lecture seule).`
        paint()
        return
      }
      const fresh = next.threads.flatMap((t) => t.entries)
        .filter((e) => !seen.has(e.id) && e.author_id !== me.id && (e.kind === 'comment' || e.kind === 'reply'))
      if (data && fresh.length) announce(`${fresh.length > 1 ? `${fresh.length} nouveaux commentaires` : `Nouveau commentaire de ${fresh[0].author_name || 'un membre'}`}.`)
      seen = new Set(next.threads.flatMap((t) => t.entries.map((e) => e.id)))
      data = next
      status.textContent = ''
      paint()
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : 'Commentaires indisponibles.'
    }
  }

  replace(aside,
    h('h2', { id: headingId, tabindex: '-1' }, 'Commentaires et suggestions'),
    h('p', { class: 'comments-as-of' }, h('label', { for: versionId }, 'Afficher '), versionSelect),
    status,
    replace(writeArea, canComment
      ? h('section', { class: 'comments-new', 'aria-label': 'Écrire' },
        h('label', { for: targetId }, 'Sur'), targetSelect, targetHint, newThread, suggestSlot)
      : h('p', { class: 'muted' }, 'Vous lisez les commentaires du cercle ; votre rôle ne permet pas d\'en écrire.')),
    h('h3', {}, 'Fils ouverts'), threadsEl, resolvedEl,
    h('h3', {}, 'Suggestions'), suggestionsEl)
  aside.setAttribute('aria-labelledby', headingId)

  // live: every change of the PPA's comments (this or another user) reloads them
  let stream = null
  if (typeof EventSource !== 'undefined') {
    stream = new EventSource(`${base}/comments/stream`)
    stream.addEventListener('changed', () => { load() })
    stream.addEventListener('closed', () => { stream?.close() })
  }
  load()

  return {
    open () { paintTargets(); paintVersions() },
    refresh: load,
    destroy () {
      stream?.close()
      observer.disconnect()
      remark.cancel()
      formRoot.removeEventListener('focusin', pick)
      formRoot.removeEventListener('click', pick)
    }
  }
}
