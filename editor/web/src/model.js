// Item factories and edits that follow docs/document-schema.md §5 exactly: every key is set
// when an item is created (defaults for what the user did not fill in), in one transaction.
// The keys, their kinds and defaults come from editor/catalogue.py (generated at build time).
import * as Y from 'yjs'
import catalogue from './generated/catalogue.json'

/** @returns {string} a new item id (lowercase UUID) */
export function newId () {
  return crypto.randomUUID().toLowerCase()
}

/**
 * A new map holding every key of `section` (catalogue order): `values` or the defaults.
 * @param {string} section
 * @param {Record<string, any>} [values]
 * @returns {Y.Map<any>}
 */
function fresh (section, values = {}) {
  const map = new Y.Map()
  for (const { name, kind, default: fallback } of catalogue.fields[section]) {
    const value = name in values ? values[name] : fallback
    if (kind === 'id') map.set(name, newId())
    else if (kind === 'Text') map.set(name, new Y.Text())
    else if (kind === 'Array<string>') map.set(name, Y.Array.from(value || []))
    else map.set(name, value)
  }
  return map
}

/**
 * Append a new item to the array root `rootName`, in one transaction.
 * @param {Y.Doc} doc
 * @param {string} rootName
 * @param {Record<string, any>} [values]
 * @returns {string} the new item's id
 */
function add (doc, rootName, values) {
  /** @type {Y.Map<any>} */
  let item
  doc.transact(() => {
    item = fresh(rootName, values)
    doc.getArray(rootName).push([item])
  })
  return item.get('id')
}

/**
 * @param {Y.Doc} doc
 * @param {{origine?: string}} [options]
 * @returns {string} the new attente's id
 */
export function addAttente (doc, { origine } = {}) {
  return add(doc, 'attentes', origine ? { origine } : {})
}

/**
 * @param {Y.Doc} doc
 * @param {{code?: string}} [options] code: its SERAFIN-PH code
 * @returns {string} the new besoin's id
 */
export function addBesoin (doc, { code } = {}) {
  return add(doc, 'besoins', code ? { code } : {})
}

/**
 * @param {Y.Doc} doc
 * @param {{besoinId?: string | null}} [options] besoinId: the besoin it answers
 * @returns {string} the new objectif's id
 */
export function addObjectif (doc, { besoinId = null } = {}) {
  return add(doc, 'objectifs', { besoin_ids: besoinId ? [besoinId] : [] })
}

/** @returns {Y.Map<any>} a planning with every key set to its default */
export function newPlanning () {
  return fresh('planning')
}

/**
 * @param {Y.Doc} doc
 * @param {{objectifId?: string | null}} [options] objectifId: the objectif it serves
 * @returns {string} the new action's id
 */
export function addAction (doc, { objectifId = null } = {}) {
  return add(doc, 'actions', { objectif_ids: objectifId ? [objectifId] : [] })
}

/**
 * @param {Y.Doc} doc
 * @returns {string} the new moyen's id
 */
export function addMoyen (doc) {
  return add(doc, 'moyens')
}

/**
 * @param {Y.Array<any>} yarray
 * @param {string} id
 * @returns {number} the index of the item map with this id, -1 when there is none
 */
export function indexOfId (yarray, id) {
  return yarray.toArray().findIndex((m) => m instanceof Y.Map && m.get('id') === id)
}

function removeRefs (doc, rootName, key, id) {
  for (const item of doc.getArray(rootName).toArray()) {
    if (!(item instanceof Y.Map)) continue
    const refs = item.get(key)
    if (!(refs instanceof Y.Array)) continue
    const values = refs.toArray()
    for (let i = values.length - 1; i >= 0; i--) if (values[i] === id) refs.delete(i, 1)
  }
}

/**
 * Delete an item by id, and the references to it, in one transaction.
 * @param {Y.Doc} doc
 * @param {string} rootName
 * @param {string} id
 */
export function deleteItem (doc, rootName, id) {
  doc.transact(() => {
    const arr = doc.getArray(rootName)
    const index = indexOfId(arr, id)
    if (index >= 0) arr.delete(index, 1)
    if (rootName === 'besoins') removeRefs(doc, 'objectifs', 'besoin_ids', id)
    if (rootName === 'objectifs') removeRefs(doc, 'actions', 'objectif_ids', id)
  })
}

/**
 * A map of `section` from an item as the JSON content holds it (a version's content): every key
 * of the catalogue, its id kept.
 * @param {string} section
 * @param {Record<string, any>} values
 * @returns {Y.Map<any>}
 */
function fromJson (section, values) {
  const map = new Y.Map()
  for (const { name, kind, default: fallback } of catalogue.fields[section]) {
    const value = name in values ? values[name] : fallback
    if (kind === 'Text') map.set(name, new Y.Text(value ? String(value) : ''))
    else if (kind === 'Array<string>') map.set(name, Y.Array.from(value || []))
    else if (kind === 'Map|null') map.set(name, value ? fromJson(name, value) : null)
    else map.set(name, value ?? null)
  }
  return map
}

// the references an item holds to other roots (kept only when their target still exists)
const REFS = { objectifs: [['besoin_ids', 'besoins']], actions: [['objectif_ids', 'objectifs']], moyens: [['action_ids', 'actions']] }

/**
 * Put back an item deleted since a version, as that version held it (issue 17: deleted items
 * are recoverable from the history), in one transaction: its references to items that still
 * exist are kept, it takes its place again, and an objective is served again by the actions that served it then and
 * still exist. Nothing happens when an item with its id is in the document.
 * @param {Y.Doc} doc
 * @param {string} rootName
 * @param {Record<string, any>} item the item in the version's content
 * @param {Record<string, any>} content the version's content
 * @returns {boolean} whether it was put back
 */
export function reinsertItem (doc, rootName, item, content) {
  const arr = doc.getArray(rootName)
  if (indexOfId(arr, item.id) >= 0) return false
  const exists = (root) => new Set(doc.getArray(root).toArray().filter((m) => m instanceof Y.Map).map((m) => m.get('id')))
  const values = { ...item }
  for (const [key, root] of REFS[rootName] || []) {
    const present = exists(root)
    values[key] = (item[key] || []).filter((id) => present.has(id))
  }
  // its place: after the nearest item that preceded it then and is still there
  const before = (content[rootName] || []).map((x) => x.id)
  let at = 0
  for (let i = before.indexOf(item.id) - 1; i >= 0; i--) {
    const index = indexOfId(arr, before[i])
    if (index >= 0) { at = index + 1; break }
  }
  doc.transact(() => {
    arr.insert(at, [fromJson(rootName, values)])
    if (rootName !== 'objectifs') return
    const servedBy = new Set((content.actions || []).filter((a) => (a.objectif_ids || []).includes(item.id)).map((a) => a.id))
    for (const action of doc.getArray('actions').toArray()) {
      if (!(action instanceof Y.Map) || !servedBy.has(action.get('id'))) continue
      const refs = action.get('objectif_ids')
      if (refs instanceof Y.Array && !refs.toArray().includes(item.id)) refs.push([item.id])
    }
  })
  return true
}

/**
 * Replace an objective's besoin: exactly one id (or none).
 * @param {Y.Doc} doc
 * @param {Y.Map<any>} objectif
 * @param {string | null} besoinId
 */
export function setSingleBesoin (doc, objectif, besoinId) {
  doc.transact(() => {
    let refs = objectif.get('besoin_ids')
    if (!(refs instanceof Y.Array)) {
      refs = new Y.Array()
      objectif.set('besoin_ids', refs)
    }
    if (refs.length === 1 && refs.get(0) === besoinId) return
    if (refs.length) refs.delete(0, refs.length)
    if (besoinId) refs.push([besoinId])
  })
}

/**
 * The text at map[key] (a Y.Text or a string), '' when there is none.
 * @param {Y.Map<any> | null | undefined} map
 * @param {string} key
 * @returns {string}
 */
export function textOf (map, key) {
  const v = map?.get(key)
  return v instanceof Y.Text ? v.toString() : (typeof v === 'string' ? v : '')
}
