// Anchors of comments and suggestions: a field or an item of the PPA, items by id, in the form
// editor's field keys ("objectifs/<id>/titre", "projet/titre", "projet_de_vie"; "ppa" = the PPA
// as a whole). Never an array position: an anchor keeps its item whatever happens around it.
import * as Y from 'yjs'
import catalogue from '../generated/catalogue.json'
import { openSection } from '../forms/kit.js'
import { SECTIONS } from '../forms/sections.js'

const SECTION_LABELS = Object.fromEntries(SECTIONS)
const FIELD_LABELS = catalogue.field_labels
const ITEM_ROOTS = new Set(['attentes', 'besoins', 'objectifs', 'actions', 'moyens', 'accords'])

/** @param {string} anchor @returns {string} the item's anchor ("objectifs/<id>"), or '' */
export function itemOf (anchor) {
  const [root, id] = anchor.split('/')
  return ITEM_ROOTS.has(root) && id ? `${root}/${id}` : ''
}

/** @param {string} anchor @returns {HTMLElement | null} the field's wrapper, or the item's card */
export function elementOf (anchor) {
  const field = document.querySelector(`[data-field="${CSS.escape(anchor)}"]`)
  if (field) return /** @type {HTMLElement} */ (field)
  if (itemOf(anchor) === anchor) {
    const inside = document.querySelector(`[data-field^="${CSS.escape(anchor + '/')}"]`)
    return /** @type {HTMLElement | null} */ (inside?.closest('.card') || null)
  }
  return null
}

/**
 * French words for an anchor: the card or section and the field's label as displayed, else
 * from the catalogue (the field is in a closed section, or its item was deleted).
 * @param {string} anchor
 * @returns {string}
 */
export function describeAnchor (anchor) {
  if (!anchor || anchor === 'ppa') return 'Le PPA en général'
  const el = elementOf(anchor)
  const [root, , ...rest] = anchor.split('/')
  const section = SECTION_LABELS[root] || root
  if (el) {
    const card = el.closest('.card')?.querySelector('.card__title')?.textContent?.trim()
    if (el.classList.contains('card')) return card || section
    const label = el.querySelector('label, legend, .ro-label')?.textContent?.trim() || ''
    return [card || section, label].filter(Boolean).join(' · ')
  }
  const keys = ITEM_ROOTS.has(root) ? rest : anchor.split('/').slice(1)
  const key = keys[keys.length - 1]
  const what = key ? (FIELD_LABELS[key] || key) : ''
  const noun = ITEM_ROOTS.has(root) ? `${section} (un élément)` : section
  return [noun, what].filter(Boolean).join(' · ')
}

/** Show and focus the anchored field or item (its section opened first). */
export function goToAnchor (anchor) {
  const root = anchor.split('/')[0]
  openSection(root)
  requestAnimationFrame(() => {
    const el = elementOf(anchor)
    if (!el) return
    el.scrollIntoView({ block: 'center' })
    const control = /** @type {HTMLElement | null} */ (el.querySelector('input, textarea, select, button, [contenteditable="true"]'))
    if (control) control.focus()
    else { el.setAttribute('tabindex', '-1'); el.focus() }
  })
}

/**
 * The current text of a text field in the live document, or null when the anchor is not a text
 * field (a date, a choice, an item) or its item is gone.
 * @param {Y.Doc} doc
 * @param {string} anchor
 * @returns {string | null}
 */
export function textAt (doc, anchor) {
  const parts = anchor.split('/')
  const root = parts[0]
  if (root === 'projet_de_vie') return doc.getText('projet_de_vie').toString()
  /** @type {any} */
  let node
  let keys
  if (root === 'projet' || root === 'bilan') {
    node = doc.getMap(root)
    keys = parts.slice(1)
  } else if (ITEM_ROOTS.has(root)) {
    node = doc.getArray(root).toArray().find((m) => m instanceof Y.Map && m.get('id') === parts[1])
    keys = parts.slice(2)
  } else return null
  if (!keys.length) return null
  for (const key of keys) node = node instanceof Y.Map ? node.get(key) : undefined
  return node instanceof Y.Text ? node.toString() : null
}
