// Actions (modalités d'accompagnement: prestations, planning, people) and the moyens they use.
import * as Y from 'yjs'
import { h, uid, replace } from '../dom.js'
import { confirmDialog } from '../dialog.js'
import {
  DECISION_ESSAI_LABELS, FREQUENCE_LABELS, FREQUENCE_UNITS, JOURS, MODALITE_GROUPE_LABELS,
  MODALITE_LIEU_LABELS, STATUT_ACTION_LABELS, TYPE_MOYEN_LABELS
} from '../labels.js'
import { addAction, addMoyen, newPlanning, textOf } from '../model.js'
import { pickSerafin } from '../serafin.js'
import {
  arrayOf, checkboxesField, dateField, ensureArray, integerField, observeKeys, selectField, stringField,
  textField
} from './fields.js'
import {
  entries, excerpt, section, subscribeDeep, itemList, cardHeading, deleteButton, addButton, focusNewItem,
  row
} from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function prestationsField (ctx, scope, item) {
  const id = item.get('id')
  const fieldKey = `actions/${id}/prestations`
  const writable = ctx.canWrite(fieldKey)
  const legendId = uid('l')
  const list = h('ul', { class: 'chips', 'aria-labelledby': legendId })
  const problems = h('div', { class: 'problems', id: uid('p') })
  let add = null
  const paint = () => {
    const codes = arrayOf(item, 'prestations')
    replace(list, ...codes.map((code, index) => h('li', { class: 'chip' },
      h('span', {}, h('span', { class: 'code' }, code), ' ', ctx.serafin.get(code)),
      writable
        ? h('button', {
          type: 'button',
          class: 'btn btn--ghost btn--small',
          'aria-label': `Retirer la prestation ${code}`,
          on: {
            click: () => {
              ctx.doc.transact(() => {
                const arr = ensureArray(ctx, item, 'prestations')
                const values = arr.toArray()
                const at = values.indexOf(code) === index ? index : values.indexOf(code)
                if (at >= 0) arr.delete(at, 1)
              })
              add?.focus()
            }
          }
        }, 'Retirer')
        : null)))
    if (!codes.length) list.append(h('li', { class: 'ro-value--empty' }, 'Aucune prestation'))
  }
  const wrapper = h('div', { class: 'field', dataset: { field: fieldKey } },
    h('p', { class: 'ro-label', id: legendId }, 'Prestations SERAFIN-PH (2.x directes, 3.x indirectes)'), list)
  if (writable) {
    add = h('button', {
      type: 'button',
      class: 'btn',
      'aria-describedby': problems.id,
      on: {
        click: async () => {
          const code = await pickSerafin({
            title: 'Ajouter une prestation SERAFIN-PH',
            kinds: ['prestation_directe', 'prestation_indirecte'],
            labels: ctx.serafin,
            exclude: new Set(arrayOf(item, 'prestations'))
          })
          if (!code || !ctx.stillWritable()) return
          ctx.doc.transact(() => {
            const arr = ensureArray(ctx, item, 'prestations')
            if (!arr.toArray().includes(code)) arr.push([code])
          })
        }
      }
    }, 'Ajouter une prestation')
    wrapper.append(h('div', { class: 'inline-actions' }, add))
    wrapper.addEventListener('focusin', () => ctx.presence.setField(fieldKey))
    wrapper.addEventListener('focusout', (e) => { if (!wrapper.contains(e.relatedTarget)) ctx.presence.clearField(fieldKey) })
  }
  wrapper.append(problems)
  let inner = null
  const rebind = () => {
    if (inner) inner()
    const arr = item.get('prestations')
    inner = null
    if (arr instanceof Y.Array) { arr.observe(paint); inner = () => arr.unobserve(paint) }
    paint()
  }
  rebind()
  observeKeys(scope, item, ['prestations'], rebind)
  scope.add(() => inner && inner())
  scope.add(ctx.serafin.onChange(paint))
  scope.add(ctx.presence.registerField(fieldKey, wrapper))
  scope.add(ctx.problems.register(fieldKey, { wrapper, control: add, slot: problems }))
  return wrapper
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {Y.Map<any>} item
 */
function planningField (ctx, scope, item) {
  const id = item.get('id')
  const base = `actions/${id}/planning`
  const writable = ctx.canWrite(base)
  const container = h('div', { class: 'planning', dataset: { field: base } })
  const problems = h('div', { class: 'problems' })
  let inner = scope.child()
  const paint = () => {
    inner.dispose()
    inner = scope.child()
    const planning = item.get('planning')
    if (!(planning instanceof Y.Map)) {
      replace(container, 
        h('p', { class: 'ro-label' }, 'Planning'),
        h('p', { class: 'ro-value ro-value--empty' }, 'Pas de planning régulier.'),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn',
            on: {
              click: () => {
                ctx.doc.transact(() => item.set('planning', newPlanning()))
                requestAnimationFrame(() => container.querySelector('select')?.focus())
              }
            }
          }, 'Ajouter un planning')
          : null,
        problems)
      return
    }
    const k = (key) => `${base}/${key}`
    const unit = () => FREQUENCE_UNITS[planning.get('frequence') || 'hebdomadaire']
    const intervalle = integerField(ctx, inner, { ymap: planning, key: 'intervalle', fieldKey: k('intervalle'), label: 'Intervalle', min: 1, max: 52, nullable: false, fallback: 1, writable, hint: `Tous les N ${unit()}`, suffix: '' })
    observeKeys(inner, planning, ['frequence'], () => {
      const hint = intervalle.querySelector('.hint')
      if (hint) hint.textContent = `Tous les N ${unit()}`
    })
    const legendId = uid('planning')
    replace(container, 
      h('fieldset', { class: 'planning__box', 'aria-labelledby': legendId },
        h('legend', { id: legendId }, 'Planning (rythme, jours, heure, durée, lieu)'),
        row(
          selectField(ctx, inner, { ymap: planning, key: 'frequence', fieldKey: k('frequence'), label: 'Fréquence', options: entries(FREQUENCE_LABELS), fallback: 'hebdomadaire', writable }),
          intervalle),
        checkboxesField(ctx, inner, {
          ymap: planning,
          key: 'jours',
          fieldKey: k('jours'),
          legend: 'Jours',
          options: () => JOURS.map(([code, name]) => [code, name]),
          writable,
          emptyText: 'Aucun jour'
        }),
        row(
          timeField(ctx, inner, { ymap: planning, key: 'heure_debut', fieldKey: k('heure_debut'), label: 'Heure de début', writable }),
          integerField(ctx, inner, { ymap: planning, key: 'duree_minutes', fieldKey: k('duree_minutes'), label: 'Durée (minutes)', min: 1, max: 1440, writable, suffix: 'min' })),
        textField(ctx, inner, { ymap: planning, key: 'lieu', fieldKey: k('lieu'), label: 'Lieu', multiline: false, writable }),
        writable
          ? h('button', {
            type: 'button',
            class: 'btn btn--ghost btn--danger-text',
            on: {
              click: async () => {
                if (await confirmDialog('Supprimer le planning de cette action ?', { confirmLabel: 'Supprimer', danger: true }) && ctx.stillWritable()) {
                  const set = () => item.set('planning', null)
                  if (ctx.undoable) ctx.undoable(set, 'Planning supprimé.', item.get('id'))
                  else ctx.doc.transact(set)
                }
              }
            }
          }, 'Supprimer le planning')
          : null),
      problems)
  }
  paint()
  observeKeys(scope, item, ['planning'], paint)
  scope.add(ctx.problems.register(base, { wrapper: container, control: null, slot: problems }))
  return container
}

/**
 * A time ("HH:MM"), as a date field whose input is of type time.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @param {import('./fields.js').FieldOptions} options
 * @returns {HTMLElement}
 */
function timeField (ctx, scope, { ymap, key, fieldKey, label, writable }) {
  if (!writable) {
    return stringField(ctx, scope, { ymap, key, fieldKey, label, writable: false })
  }
  const wrapper = dateField(ctx, scope, { ymap, key, fieldKey, label, writable: true })
  const input = wrapper.querySelector('input')
  input.type = 'time'
  input.step = '60'
  const v = ymap.get(key)
  input.value = typeof v === 'string' ? v : ''
  return wrapper
}

/**
 * @param {FormContext} ctx
 */
export function actionsSection (ctx) {
  let sectionEl = null
  const objectifOptions = () => ctx.roots.objectifs.toArray().filter((m) => m instanceof Y.Map)
    .map((o, i) => [o.get('id'), `Objectif ${i + 1} : ${excerpt(textOf(o, 'titre') || 'sans titre', 70)}`])
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const k = (key) => `actions/${id}/${key}`
    const w = (key) => ctx.canWrite(k(key))
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Action', api), ctx.canStructureOf('actions') ? deleteButton(ctx, 'actions', item, 'Action', "l'action") : null),
      h('div', { class: 'card__body' },
        textField(ctx, s, { ymap: item, key: 'titre', fieldKey: k('titre'), label: 'Titre', multiline: false, writable: w('titre') }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: k('description'), label: 'Description', writable: w('description') }),
        checkboxesField(ctx, s, {
          ymap: item, key: 'objectif_ids', fieldKey: k('objectif_ids'), legend: 'Objectifs servis', options: objectifOptions,
          subscribe: subscribeDeep([ctx.roots.objectifs], 300), writable: w('objectif_ids'), emptyText: 'Aucun objectif'
        }),
        prestationsField(ctx, s, item),
        row(
          selectField(ctx, s, { ymap: item, key: 'referent_id', fieldKey: k('referent_id'), label: 'Référent', options: ctx.memberOptions, nullable: true, writable: w('referent_id') }),
          selectField(ctx, s, { ymap: item, key: 'statut', fieldKey: k('statut'), label: 'Statut', options: entries(STATUT_ACTION_LABELS), fallback: 'en_preparation', writable: w('statut'), hint: "« À l'essai » avant stabilisation." })),
        checkboxesField(ctx, s, {
          ymap: item, key: 'intervenant_ids', fieldKey: k('intervenant_ids'), legend: 'Intervenants', options: ctx.memberOptions, writable: w('intervenant_ids'), emptyText: 'Aucun intervenant'
        }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_debut', fieldKey: k('date_debut'), label: 'Début', writable: w('date_debut') }),
          dateField(ctx, s, { ymap: item, key: 'date_fin', fieldKey: k('date_fin'), label: 'Fin', writable: w('date_fin') })),
        planningField(ctx, s, item),
        textField(ctx, s, { ymap: item, key: 'resultat_attendu', fieldKey: k('resultat_attendu'), label: 'Résultat attendu', writable: w('resultat_attendu') }),
        textField(ctx, s, { ymap: item, key: 'avis_usager', fieldKey: k('avis_usager'), label: 'Avis de la personne', writable: w('avis_usager') }),
        row(
          selectField(ctx, s, { ymap: item, key: 'modalite_groupe', fieldKey: k('modalite_groupe'), label: 'Individuelle ou collective', options: entries(MODALITE_GROUPE_LABELS), fallback: 'non_precisee', writable: w('modalite_groupe') }),
          selectField(ctx, s, { ymap: item, key: 'modalite_lieu', fieldKey: k('modalite_lieu'), label: 'Sur place ou à distance', options: entries(MODALITE_LIEU_LABELS), fallback: 'non_precisee', writable: w('modalite_lieu') })),
        textField(ctx, s, { ymap: item, key: 'structure_responsable', fieldKey: k('structure_responsable'), label: 'Structure responsable', hint: 'Si ce n\'est pas la structure du PPA (nom, FINESS).', multiline: false, writable: w('structure_responsable') }),
        textField(ctx, s, { ymap: item, key: 'partenaires', fieldKey: k('partenaires'), label: 'Partenaires extérieurs', hint: 'Qui ne sont pas membres du cercle (un club, une association…).', writable: w('partenaires') }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_fin_essai', fieldKey: k('date_fin_essai'), label: "Fin de l'essai", hint: "Pour une action « à l'essai ».", writable: w('date_fin_essai') }),
          selectField(ctx, s, { ymap: item, key: 'decision_essai', fieldKey: k('decision_essai'), label: "Décision à la fin de l'essai", options: entries(DECISION_ESSAI_LABELS), fallback: 'en_attente', writable: w('decision_essai') }))))
    return card
  }
  sectionEl = section('actions', "Actions (modalités d'accompagnement)", 'Ce qui est fait, par qui, quand et où, au service des objectifs.', (scope) => [
    itemList(ctx, scope, { yarray: ctx.roots.actions, renderItem, emptyText: 'Aucune action pour le moment.', label: 'Actions' }),
    ctx.canStructureOf('actions') ? addButton('Ajouter une action', () => focusNewItem(sectionEl, addAction(ctx.doc))) : null])
  return sectionEl
}

/**
 * @param {FormContext} ctx
 */
export function moyensSection (ctx) {
  let sectionEl = null
  const actionOptions = () => ctx.roots.actions.toArray().filter((m) => m instanceof Y.Map)
    .map((a, i) => [a.get('id'), `Action ${i + 1} : ${excerpt(textOf(a, 'titre') || 'sans titre', 70)}`])
  const renderItem = (item, s, api) => {
    const id = item.get('id')
    const card = h('article', { class: 'card item', dataset: { itemId: id } })
    card.append(
      h('div', { class: 'card__head' }, cardHeading(s, card, item, 'Moyen', api, 'description'), ctx.canStructureOf('moyens') ? deleteButton(ctx, 'moyens', item, 'Moyen', 'le moyen') : null),
      h('div', { class: 'card__body' },
        selectField(ctx, s, { ymap: item, key: 'type', fieldKey: `moyens/${id}/type`, label: 'Type', options: entries(TYPE_MOYEN_LABELS), fallback: 'autre', writable: ctx.canWrite(`moyens/${id}/type`) }),
        textField(ctx, s, { ymap: item, key: 'description', fieldKey: `moyens/${id}/description`, label: 'Description', writable: ctx.canWrite(`moyens/${id}/description`) }),
        checkboxesField(ctx, s, {
          ymap: item, key: 'action_ids', fieldKey: `moyens/${id}/action_ids`, legend: 'Actions servies', options: actionOptions,
          subscribe: subscribeDeep([ctx.roots.actions], 300), writable: ctx.canWrite(`moyens/${id}/action_ids`), emptyText: 'Aucune action'
        }),
        row(
          dateField(ctx, s, { ymap: item, key: 'date_debut', fieldKey: `moyens/${id}/date_debut`, label: 'Début', writable: ctx.canWrite(`moyens/${id}/date_debut`) }),
          dateField(ctx, s, { ymap: item, key: 'date_fin', fieldKey: `moyens/${id}/date_fin`, label: 'Fin', writable: ctx.canWrite(`moyens/${id}/date_fin`) })),
        textField(ctx, s, { ymap: item, key: 'financement', fieldKey: `moyens/${id}/financement`, label: 'Financement', hint: 'PCH, budget de la structure, famille…', multiline: false, writable: ctx.canWrite(`moyens/${id}/financement`) })))
    return card
  }
  sectionEl = section('moyens', 'Moyens et ressources', null, (scope) => [
    itemList(ctx, scope, { yarray: ctx.roots.moyens, renderItem, emptyText: 'Aucun moyen pour le moment.', label: 'Moyens' }),
    ctx.canStructureOf('moyens') ? addButton('Ajouter un moyen', () => focusNewItem(sectionEl, addMoyen(ctx.doc))) : null])
  return sectionEl
}
