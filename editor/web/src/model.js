// Item factories and edits that follow docs/document-schema.md §5 exactly: every key is set
// when an item is created (defaults for what the user did not fill in), in one transaction.
import * as Y from 'yjs'

export function newId () {
  return crypto.randomUUID().toLowerCase()
}

function fill (map, values) {
  for (const [key, value] of Object.entries(values)) map.set(key, value)
  return map
}

export function addAttente (doc, { origine = 'personne' } = {}) {
  const item = new Y.Map()
  doc.transact(() => {
    fill(item, { id: newId(), origine, texte: new Y.Text() })
    doc.getArray('attentes').push([item])
  })
  return item.get('id')
}

export function addBesoin (doc, { code = null } = {}) {
  const item = new Y.Map()
  doc.transact(() => {
    fill(item, { id: newId(), code, description: new Y.Text(), analyse: new Y.Text() })
    doc.getArray('besoins').push([item])
  })
  return item.get('id')
}

export function addObjectif (doc, { besoinId = null } = {}) {
  const item = new Y.Map()
  doc.transact(() => {
    fill(item, {
      id: newId(),
      titre: new Y.Text(),
      description: new Y.Text(),
      besoin_ids: Y.Array.from(besoinId ? [besoinId] : []),
      domaine: new Y.Text(),
      date_debut: null,
      date_echeance: null,
      resultat_attendu: new Y.Text(),
      strategie: new Y.Text(),
      referent_id: null,
      avis_usager: new Y.Text(),
      statut: 'en_preparation'
    })
    doc.getArray('objectifs').push([item])
  })
  return item.get('id')
}

export function newPlanning () {
  return fill(new Y.Map(), {
    frequence: 'hebdomadaire',
    intervalle: 1,
    jours: new Y.Array(),
    heure_debut: null,
    duree_minutes: null,
    lieu: new Y.Text()
  })
}

export function addAction (doc, { objectifId = null } = {}) {
  const item = new Y.Map()
  doc.transact(() => {
    fill(item, {
      id: newId(),
      titre: new Y.Text(),
      description: new Y.Text(),
      objectif_ids: Y.Array.from(objectifId ? [objectifId] : []),
      prestations: new Y.Array(),
      referent_id: null,
      intervenant_ids: new Y.Array(),
      date_debut: null,
      date_fin: null,
      planning: null,
      statut: 'en_preparation',
      resultat_attendu: new Y.Text(),
      avis_usager: new Y.Text()
    })
    doc.getArray('actions').push([item])
  })
  return item.get('id')
}

export function addMoyen (doc) {
  const item = new Y.Map()
  doc.transact(() => {
    fill(item, { id: newId(), type: 'autre', description: new Y.Text() })
    doc.getArray('moyens').push([item])
  })
  return item.get('id')
}

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

/** Delete an item by id, and the references to it, in one transaction. */
export function deleteItem (doc, rootName, id) {
  doc.transact(() => {
    const arr = doc.getArray(rootName)
    const index = indexOfId(arr, id)
    if (index >= 0) arr.delete(index, 1)
    if (rootName === 'besoins') removeRefs(doc, 'objectifs', 'besoin_ids', id)
    if (rootName === 'objectifs') removeRefs(doc, 'actions', 'objectif_ids', id)
  })
}

/** Replace an objective's besoin: exactly one id (or none). */
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

export function textOf (map, key) {
  const v = map?.get(key)
  return v instanceof Y.Text ? v.toString() : (typeof v === 'string' ? v : '')
}
