// Attentes (who expects what) and besoins (each coded with SERAFIN-PH 1.x).
import { h, uid, replace } from '../dom.js'
import { ORIGINE_LABELS } from '../labels.js'
import { addAttente, addBesoin } from '../model.js'
import { pickSerafin } from '../serafin.js'
import { OWN_ORIGINS } from '../permissions.js'
import { observeKeys, selectField, textField } from './fields.js'
import {
  entries, section, itemList, cardHeading, deleteButton, addButton, focusNewItem, frozenNote
} from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/**
 * @param {FormContext} ctx
 */
export function attentesSection (ctx) {
  const arr = ctx.roots.attentes
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const card = h('article', { class: 'card item', dataset: { itemId: item.get('id') } })
    const body = h('div', { class: 'card__body' })
    let inner = s.child()
    const paint = () => {
      inner.dispose()
      inner = s.child()
      const id = item.get('id')
      const origine = item.get('origine') || 'personne'
      replace(body, 
        selectField(ctx, inner, {
          ymap: item, key: 'origine', fieldKey: `attentes/${id}/origine`, label: 'Exprimée par',
          options: ctx.mode === 'own' ? entries(ORIGINE_LABELS).filter(([v]) => OWN_ORIGINS.has(v)) : entries(ORIGINE_LABELS), fallback: 'personne', writable: ctx.canWrite(`attentes/${id}/origine`, { origine })
        }),
        textField(ctx, inner, { ymap: item, key: 'texte', fieldKey: `attentes/${id}/texte`, label: 'Attente', writable: ctx.canWrite(`attentes/${id}/texte`, { origine }) })
      )
      replace(actions, ctx.canStructureOf('attentes') || (ctx.mode === 'own' && OWN_ORIGINS.has(origine))
        ? deleteButton(ctx, 'attentes', item, 'Attente', "l'attente")
        : null)
    }
    const actions = h('div', { class: 'card__actions' })
    paint()
    if (ctx.mode === 'own') observeKeys(s, item, ['origine'], paint)
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Attente', api, null), actions),
      body)
    return card
  }
  const own = ctx.mode === 'own' ? ctx.ownOrigine : null
  sectionEl = section('attentes', 'Attentes', 'Ce que la personne, son entourage ou les professionnels attendent de l\'accompagnement.', (scope) => [
    itemList(ctx, scope, { yarray: arr, renderItem, emptyText: 'Aucune attente pour le moment.', label: 'Attentes' }),
    ctx.canStructureOf('attentes') || own
      ? addButton('Ajouter une attente', () => {
        const id = addAttente(ctx.doc, { origine: own || 'professionnel' })
        focusNewItem(sectionEl, id)
      })
      : null])
  return sectionEl
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {import('yjs').Map<any>} item
 */
function besoinCodeField (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `besoins/${id}/code`
  const writable = ctx.canWrite(fieldKey)
  const value = h('p', { class: 'code-value' })
  const paint = () => {
    const code = item.get('code')
    replace(value, code
      ? h('span', {}, h('span', { class: 'code' }, code), ' ', ctx.serafin.get(code) || '')
      : h('span', { class: 'ro-value--empty' }, 'Aucun code SERAFIN-PH'))
    if (pick) pick.textContent = code ? 'Changer le code SERAFIN-PH' : 'Choisir un code SERAFIN-PH'
  }
  const labelId = uid('l')
  const problems = h('div', { class: 'problems', id: uid('p') })
  let pick = null
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } },
    h('p', { class: 'ro-label', id: labelId }, 'Code SERAFIN-PH du besoin'), value)
  value.setAttribute('aria-labelledby', labelId)
  if (writable) {
    pick = h('button', {
      type: 'button',
      class: 'btn',
      'aria-describedby': `${labelId} ${problems.id}`,
      on: {
        click: async () => {
          const code = await pickSerafin({ title: 'Choisir le besoin SERAFIN-PH', kinds: ['besoin'], labels: ctx.serafin })
          if (code && code !== item.get('code') && ctx.stillWritable()) ctx.doc.transact(() => item.set('code', code))
        }
      }
    })
    wrapper.append(h('div', { class: 'inline-actions' }, pick))
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  }
  wrapper.append(problems)
  paint()
  observeKeys(scope, item, ['code'], paint)
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control: pick, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 */
export function besoinsSection (ctx) {
  let sectionEl = null
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    const heading = cardHeading(s, card, item, 'Besoin', api, 'description')
    card.append(
      h('div', { class: 'card__head' }, heading, ctx.canStructureOf('besoins') ? deleteButton(ctx, 'besoins', item, 'Besoin', 'le besoin') : null),
      h('div', { class: 'card__body' },
        besoinCodeField(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: `besoins/${id}/description`, label: 'Description du besoin', writable: ctx.canWrite(`besoins/${id}/description`) }),
        textField(ctx, s, { ymap: item, key: 'analyse', fieldKey: `besoins/${id}/analyse`, label: 'Analyse professionnelle', writable: ctx.canWrite(`besoins/${id}/analyse`) }),
        textField(ctx, s, {
          ymap: item,
          key: 'motif_sans_objectif',
          fieldKey: `besoins/${id}/motif_sans_objectif`,
          label: 'Si aucun objectif ne répond à ce besoin : pourquoi',
          hint: 'Par exemple : pris en charge par un partenaire, ou choix de la personne.',
          writable: ctx.canWrite(`besoins/${id}/motif_sans_objectif`)
        })))
    return card
  }
  sectionEl = section('besoins', 'Besoins', 'Chaque besoin est codé avec la nomenclature SERAFIN-PH (codes 1.x).', (scope) => [
    frozenNote(ctx, 'besoins'),
    itemList(ctx, scope, { yarray: ctx.roots.besoins, renderItem, emptyText: 'Aucun besoin pour le moment.', label: 'Besoins' }),
    ctx.canStructureOf('besoins')
      ? addButton('Ajouter un besoin', async () => {
        const code = await pickSerafin({ title: 'Nouveau besoin : choisir le code SERAFIN-PH', kinds: ['besoin'], labels: ctx.serafin })
        if (code === null || !ctx.stillWritable()) return
        focusNewItem(sectionEl, addBesoin(ctx.doc, { code }))
      })
      : null])
  return sectionEl
}
