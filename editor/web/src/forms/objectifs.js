// Objectifs: each answers one besoin.
import * as Y from 'yjs'
import { h, uid, replace } from '../dom.js'
import { ACCORD_OBJECTIF_LABELS, PRIORITE_LABELS, RESULTAT_LABELS, STATUT_OBJECTIF_LABELS } from '../labels.js'
import { addObjectif, setSingleBesoin, textOf } from '../model.js'
import { arrayOf, dateField, observeKeys, selectField, textField } from './fields.js'
import {
  entries, excerpt, section, subscribeDeep, itemList, cardHeading, deleteButton, addButton, focusNewItem,
  frozenNote, row
} from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/**
 * @param {FormContext} ctx
 * @returns {import('./fields.js').Choices}
 */
function besoinOptions (ctx) {
  return ctx.roots.besoins.toArray().filter((m) => m instanceof Y.Map).map((b, i) => {
    const code = b.get('code')
    const desc = textOf(b, 'description')
    const name = code ? ctx.serafin.describe(code) : `Besoin ${i + 1} (non codé)`
    return [b.get('id'), desc ? `${name} — ${excerpt(desc, 50)}` : name]
  })
}

/**
 * The one besoin of an objective: a single choice (the UI never adds a second one).
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function besoinOfObjectif (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `objectifs/${id}/besoin_ids`
  const writable = ctx.canWrite(fieldKey)
  const options = () => besoinOptions(ctx)
  const subscribe = subscribeDeep([ctx.roots.besoins])
  const problems = h('div', { class: 'problems', id: uid('p') })
  const warning = h('div', { class: 'warning', hidden: true })
  let control
  let value
  const labelId = uid('l')
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } })
  const paint = () => {
    const ids = arrayOf(item, 'besoin_ids')
    const opts = options()
    const labelOf = (v) => opts.find(([x]) => x === v)?.[1] || 'besoin supprimé'
    if (control) {
      const wanted = [['', '— Choisir le besoin —'], ...opts]
      if (ids[0] && !opts.some(([v]) => v === ids[0])) wanted.push([ids[0], labelOf(ids[0])])
      while (control.options.length > wanted.length) control.remove(control.options.length - 1)
      wanted.forEach(([v, text], i) => {
        let option = control.options[i]
        if (!option) { option = h('option'); control.add(option) }
        if (option.getAttribute('value') !== v) option.setAttribute('value', v)
        if (option.textContent !== text) option.textContent = text
      })
      control.value = ids[0] || ''
    } else {
      replace(value, ...(ids.length ? ids.map((v) => h('span', { class: 'ro-chip' }, labelOf(v))) : [h('span', { class: 'ro-value--empty' }, 'Aucun besoin')]))
    }
    if (ids.length > 1) {
      warning.hidden = false
      replace(warning, 
        h('p', {}, `Cet objectif répond à ${ids.length} besoins : un objectif ne répond qu'à un seul besoin.`),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn',
            on: { click: () => setSingleBesoin(ctx.doc, item, ids[0]) }
          }, `Ne garder que « ${excerpt(labelOf(ids[0]), 40)} »`)
          : null)
    } else {
      warning.hidden = true
      warning.replaceChildren()
    }
  }
  if (writable) {
    control = h('select', { id: uid('b'), 'aria-describedby': problems.id })
    control.addEventListener('change', () => setSingleBesoin(ctx.doc, item, control.value || null))
    wrapper.append(h('label', { for: control.id }, 'Besoin auquel répond l\'objectif (un seul)'), control)
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  } else {
    value = h('p', { class: 'ro-value', 'aria-labelledby': labelId })
    wrapper.classList.add('field--ro')
    wrapper.append(h('p', { class: 'ro-label', id: labelId }, 'Besoin auquel répond l\'objectif'), value)
  }
  wrapper.append(warning, problems)
  let inner = null
  const rebind = () => {
    if (inner) inner()
    const arr = item.get('besoin_ids')
    inner = null
    if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
    paint()
  }
  rebind()
  observeKeys(scope, item, ['besoin_ids'], rebind)
  scope.add(() => inner && inner())
  scope.add(subscribe(paint))
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 */
export function objectifsSection (ctx) {
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const k = (key) => `objectifs/${id}/${key}`
    const w = (key) => ctx.canWrite(k(key))
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Objectif', api), ctx.canStructureOf('objectifs') ? deleteButton(ctx, 'objectifs', item, 'Objectif', "l'objectif") : null),
      h('div', { class: 'card__body' },
        textField(ctx, s, { ymap: item, key: 'titre', fieldKey: k('titre'), label: 'Titre', multiline: false, writable: w('titre') }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: k('description'), label: 'Description', writable: w('description') }),
        besoinOfObjectif(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'domaine', fieldKey: k('domaine'), label: 'Domaine', multiline: false, writable: w('domaine') }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_debut', fieldKey: k('date_debut'), label: 'Date de début', writable: w('date_debut') }),
          dateField(ctx, s, { ymap: item, key: 'date_echeance', fieldKey: k('date_echeance'), label: 'Échéance', writable: w('date_echeance') })),
        textField(ctx, s, { ymap: item, key: 'resultat_attendu', fieldKey: k('resultat_attendu'), label: 'Résultat attendu', writable: w('resultat_attendu') }),
        textField(ctx, s, { ymap: item, key: 'strategie', fieldKey: k('strategie'), label: 'Stratégie', writable: w('strategie') }),
        row(
          selectField(ctx, s, { ymap: item, key: 'referent_id', fieldKey: k('referent_id'), label: 'Référent', options: ctx.memberOptions, nullable: true, writable: w('referent_id') }),
          selectField(ctx, s, { ymap: item, key: 'statut', fieldKey: k('statut'), label: 'Statut', options: entries(STATUT_OBJECTIF_LABELS), fallback: 'en_preparation', writable: w('statut') })),
        textField(ctx, s, { ymap: item, key: 'indicateur', fieldKey: k('indicateur'), label: 'Indicateur', hint: 'Comment on saura que l\'objectif est atteint.', writable: w('indicateur') }),
        selectField(ctx, s, { ymap: item, key: 'priorite', fieldKey: k('priorite'), label: 'Priorité', options: entries(PRIORITE_LABELS), fallback: 'non_definie', writable: w('priorite') }),
        selectField(ctx, s, { ymap: item, key: 'accord_usager', fieldKey: k('accord_usager'), label: 'La personne est-elle d\'accord avec cet objectif ?', options: entries(ACCORD_OBJECTIF_LABELS), fallback: 'non_exprime', writable: w('accord_usager') }),
        textField(ctx, s, { ymap: item, key: 'avis_usager', fieldKey: k('avis_usager'), label: 'Avis de la personne', hint: 'Ce que la personne pense de cet objectif, avec ses mots.', writable: w('avis_usager') }),
        h('fieldset', { class: 'subsection' }, h('legend', {}, "Bilan de l'objectif"),
          row(
            selectField(ctx, s, { ymap: item, key: 'bilan_resultat', fieldKey: k('bilan_resultat'), label: 'Résultat', options: entries(RESULTAT_LABELS), fallback: 'non_evalue', writable: w('bilan_resultat') }),
            dateField(ctx, s, { ymap: item, key: 'bilan_date', fieldKey: k('bilan_date'), label: "Évalué le", hint: "La date où l'évaluation a eu lieu (pas une date prévue).", writable: w('bilan_date') })),
          selectField(ctx, s, { ymap: item, key: 'bilan_evalue_par', fieldKey: k('bilan_evalue_par'), label: 'Évalué par', options: ctx.memberOptions, nullable: true, writable: w('bilan_evalue_par') }),
          textField(ctx, s, { ymap: item, key: 'bilan_commentaire', fieldKey: k('bilan_commentaire'), label: "Commentaire d'évaluation", writable: w('bilan_commentaire') }))))
    return card
  }
  sectionEl = section('objectifs', 'Objectifs', 'Chaque objectif répond à un seul besoin.', (scope) => [
    frozenNote(ctx, 'objectifs'),
    itemList(ctx, scope, { yarray: ctx.roots.objectifs, renderItem, emptyText: 'Aucun objectif pour le moment.', label: 'Objectifs' }),
    ctx.canStructureOf('objectifs') ? addButton('Ajouter un objectif', () => focusNewItem(sectionEl, addObjectif(ctx.doc))) : null])
  return sectionEl
}
