// Building blocks shared by the sections of the PPA form: the FormContext, section and card
// frames, item lists kept in document order, add/delete buttons.
import * as Y from 'yjs'
import { announce, debounce, h, replace, uid } from '../dom.js'
import { confirmDialog } from '../dialog.js'
import { deleteItem, textOf } from '../model.js'
import { observe, observeKeys } from './fields.js'

/**
 * What the form needs from the editor page (views/editor.js builds it).
 * @typedef {object} FormContext
 * @property {Y.Doc} doc the live document
 * @property {ReturnType<typeof import('../collab/session.js').roots>} roots its roots
 * @property {import('../collab/session.js').CollabSession} session
 * @property {import('../collab/presence.js').Presence} presence
 * @property {import('../problems.js').ProblemRegistry} problems
 * @property {import('../serafin.js').SerafinLabels} serafin labels of SERAFIN-PH codes
 * @property {() => import('./fields.js').Choices} memberOptions the professionals of the cercle
 * @property {() => import('./fields.js').Choices} peopleOptions every member who may take part in
 *   a meeting (professionals by their professional id, the others by their member id)
 * @property {(id: string) => string} memberName a member's name from any of their ids
 * @property {'edit' | 'own' | 'read'} mode what this user may change (permissions.js modeFor)
 * @property {string} ownOrigine the origine of the attentes a person or aidant adds
 * @property {(section: string) => boolean} canStructureOf may add and delete items of a section
 * @property {(fieldKey: string, item?: {origine?: string}) => boolean} canWrite may edit a field
 * @property {(section: string) => boolean} isFrozen read-only while an avenant is drafted
 * @property {() => boolean} stillWritable still writable after an await (a dialog)
 * @property {(fn: () => void, message: string, focusId?: string | null) => void} [undoable]
 *   run a deletion the user may undo ("Annuler", Ctrl+Z); message says what was deleted
 */

/** @typedef {import('./fields.js').Scope} Scope */

/** @param {Record<string, string>} labels @returns {Array<[string, string]>} */
export const entries = (labels) => Object.entries(labels)

export function excerpt (text, n = 70) {
  const one = text.replace(/\s+/g, ' ').trim()
  return one.length > n ? `${one.slice(0, n - 1)}…` : one
}

/**
 * The sections' toggles, by section id (the last form rendered): views open a section to show a
 * field in it (table of contents, problems).
 * @type {Map<string, {open: () => void, close: () => void, isOpen: () => boolean, summary: HTMLElement}>}
 */
export const SECTION_TOGGLES = new Map()

/** Open a section of the form (built on first opening); false when there is no such section. */
export function openSection (id) {
  const toggle = SECTION_TOGGLES.get(id)
  if (toggle) toggle.open()
  return Boolean(toggle)
}

/**
 * A collapsible section: its heading is a toggle button, a summary line stays visible, and its
 * body is built by `build(scope)` the first time it opens (a large PPA builds only what is open).
 * sections.js mounts it (mountSection) with the scope and whether it starts open.
 * @param {string} id
 * @param {string} title
 * @param {string | null} intro
 * @param {(scope: Scope) => Array<Node | null>} build
 * @returns {HTMLElement}
 */
export function section (id, title, intro, build) {
  const headingId = `${id}-title`
  const bodyId = `${id}-body`
  // the chevron is hidden from the accessible name (the section's region is named by its title)
  const toggle = h('button', { type: 'button', class: 'section-toggle', 'aria-expanded': 'false', 'aria-controls': bodyId },
    h('span', { class: 'section-toggle__icon', 'aria-hidden': 'true' }), title)
  const summary = h('p', { class: 'section-summary', id: `${id}-summary` })
  const body = h('div', { class: 'section-body', id: bodyId, hidden: true })
  const el = h('section', { class: 'ppa-section', id, 'aria-labelledby': headingId, tabindex: '-1' },
    h('h2', { id: headingId }, toggle), summary, body)
  PENDING.set(el, { intro, build, body, toggle, summary })
  return el
}

/** Sections made by section() and not mounted yet. */
const PENDING = new WeakMap()

/**
 * Wire a section made by section(): its toggle, its body built on first opening in a child of
 * `scope`. Returns its summary line (sections.js paints it).
 * @param {HTMLElement} el
 * @param {Scope} scope
 * @param {boolean} startOpen
 * @param {(open: boolean) => void} [onToggle]
 */
export function mountSection (el, scope, startOpen, onToggle) {
  const { intro, build, body, toggle, summary } = PENDING.get(el)
  PENDING.delete(el)
  let built = false
  const setOpen = (open) => {
    if (open && !built) {
      built = true
      replace(body, intro ? h('p', { class: 'section-intro' }, intro) : null, ...build(scope.child()))
    }
    body.hidden = !open
    toggle.setAttribute('aria-expanded', String(open))
    el.classList.toggle('ppa-section--closed', !open)
    if (onToggle) onToggle(open)
  }
  toggle.addEventListener('click', () => setOpen(toggle.getAttribute('aria-expanded') !== 'true'))
  SECTION_TOGGLES.set(el.id, { open: () => setOpen(true), close: () => setOpen(false), isOpen: () => !body.hidden, summary })
  setOpen(startOpen)
  return summary
}

/** Re-run `fn` (debounced) whenever anything in the given types changes. */
export function subscribeDeep (types, ms = 150) {
  return (cb) => {
    const run = debounce(cb, ms)
    for (const t of types) t.observeDeep(run)
    return () => { run.cancel(); for (const t of types) t.unobserveDeep(run) }
  }
}

/**
 * Items of an array root as cards, kept in document order; each card has its own scope.
 * renderItem(ymap, scope, api) -> element; api.index() gives the current position.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {object} options
 * @param {Y.Array<any>} options.yarray
 * @param {(item: Y.Map<any>, scope: Scope, api: {index: () => number}) => HTMLElement} options.renderItem
 * @param {string} options.emptyText
 * @param {string} options.label accessible name of the list
 * @returns {HTMLElement}
 */
export function itemList (ctx, scope, { yarray, renderItem, emptyText, label }) {
  const container = h('div', { class: 'items', role: 'list', 'aria-label': label })
  const empty = h('p', { class: 'muted empty' }, emptyText)
  const items = new Map()
  const paint = () => {
    const maps = yarray.toArray().filter((m) => m instanceof Y.Map)
    const keep = new Set(maps)
    for (const [m, it] of items) {
      if (!keep.has(m)) { it.scope.dispose(); it.el.remove(); items.delete(m) }
    }
    let prev = null
    maps.forEach((m, index) => {
      let it = items.get(m)
      if (!it) {
        const s = scope.child()
        it = { scope: s, index }
        it.card = renderItem(m, s, { index: () => it.index })
        // the card keeps its own element (an <article>): the list item wraps it (an article
        // may not take the listitem role, axe aria-allowed-role)
        it.el = h('div', { role: 'listitem', class: 'items__entry' }, it.card)
        items.set(m, it)
      }
      if (it.index !== index) { it.index = index; it.card.dispatchEvent(new CustomEvent('reindex')) }
      const expected = prev ? prev.nextSibling : container.firstChild
      if (expected !== it.el) container.insertBefore(it.el, expected)
      prev = it.el
    })
    empty.hidden = maps.length > 0
  }
  observe(scope, yarray, paint)
  paint()
  return h('div', {}, empty, container)
}

/** A card heading "Objectif 2 : titre", kept live. */
export function cardHeading (scope, card, ymap, noun, api, titleKey = 'titre', tag = 'h3') {
  const id = uid('card')
  const heading = h(tag, { id, class: 'card__title' })
  const paint = () => {
    const title = titleKey ? textOf(ymap, titleKey) : ''
    heading.textContent = `${noun} ${api.index() + 1}${title.trim() ? ` : ${excerpt(title, 90)}` : ''}`
  }
  paint()
  card.addEventListener('reindex', paint)
  if (titleKey) {
    let inner = null
    const rebind = () => {
      if (inner) inner()
      const t = ymap.get(titleKey)
      inner = null
      if (t instanceof Y.Text) { t.observe(paint); inner = () => t.unobserve(paint) }
      paint()
    }
    rebind()
    observeKeys(scope, ymap, [titleKey], rebind)
    scope.add(() => inner && inner())
  }
  card.setAttribute('aria-labelledby', id)
  return heading
}

const FEMININE = new Set(['Action', 'Attente'])

/**
 * @param {FormContext} ctx
 * @param {string} rootName
 * @param {Y.Map<any>} ymap the item
 * @param {string} noun announced when deleted ("Objectif supprimé.")
 * @param {string} what the item in the button and the question ("l'objectif")
 */
export function deleteButton (ctx, rootName, ymap, noun, what) {
  return h('button', {
    type: 'button',
    class: 'btn btn--ghost btn--danger-text',
    on: {
      click: async (event) => {
        const button = event.currentTarget
        const label = textOf(ymap, 'titre') || textOf(ymap, 'description') || textOf(ymap, 'texte')
        const ok = await confirmDialog(`Supprimer ${what}${label ? ` « ${excerpt(label, 60)} »` : ''} ? Les autres participants le verront disparaître.`, { confirmLabel: 'Supprimer', danger: true })
        if (!ok || !ctx.stillWritable()) return
        const section = button.closest('.ppa-section')
        const id = ymap.get('id')
        const message = `${noun} supprimé${FEMININE.has(noun) ? 'e' : ''}${label ? ` : « ${excerpt(label, 40)} »` : ''}.`
        if (ctx.undoable) ctx.undoable(() => deleteItem(ctx.doc, rootName, id), message, id)
        else deleteItem(ctx.doc, rootName, id)
        announce(`${message}${ctx.undoable ? ' Pour annuler : Ctrl+Z ou le bouton « Annuler ».' : ''}`)
        section?.querySelector('.add-item')?.focus()
      }
    }
  }, `Supprimer ${what}`)
}

export function addButton (label, onClick) {
  return h('button', { type: 'button', class: 'btn add-item', on: { click: onClick } }, h('span', { 'aria-hidden': 'true' }, '+ '), label)
}

/** Move the focus into the item just added (its first text field), so typing goes there. */
export function focusNewItem (sectionEl, id) {
  const focus = () => {
    const card = sectionEl.querySelector(`[data-item-id="${CSS.escape(id)}"]`)
    const target = card?.querySelector('input[type="text"], textarea') || card?.querySelector('input, select, button')
    if (target) target.focus()
    return Boolean(target)
  }
  if (!focus()) requestAnimationFrame(focus)
}

/**
 * @param {FormContext} ctx
 * @param {string} sectionName
 */
export function frozenNote (ctx, sectionName) {
  if (!ctx.isFrozen(sectionName)) return null
  const text = sectionName === 'objectifs'
    ? "Avenant en cours : un avenant peut mettre à jour le statut, l'avis de la personne et l'échéance d'un objectif, mais pas en ajouter, en supprimer ni en changer le contenu. Pour cela, démarrez une révision (nouveau PPA)."
    : 'Avenant en cours : un avenant ne modifie pas les besoins. Pour les changer, démarrez une révision (nouveau PPA).'
  return h('p', { class: 'notice' }, text)
}

export function row (...children) {
  return h('div', { class: 'row' }, ...children)
}
