// The closing sections: bilan (evaluation, next review) and the accords recorded at validation.
import * as Y from 'yjs'
import { formatDate, h, replace, uid } from '../dom.js'
import { ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS } from '../labels.js'
import { textOf } from '../model.js'
import { checkboxesField, dateField, observe, observeKeys, stringField, textField } from './fields.js'
import { section, row } from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/** Today in Paris, as "YYYY-MM-DD" (the dates of the PPA are calendar days there). */
const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' })

/**
 * A warning under a date field while its date is past (kept live; the input describes it).
 * @param {Scope} scope
 * @param {import('yjs').Map<any>} ymap
 * @param {string} key
 * @param {HTMLElement} field the date field's wrapper
 * @param {(date: string) => string} message
 */
function pastDateWarning (scope, ymap, key, field, message) {
  const warning = h('p', { class: 'date-warning', id: uid('past'), hidden: true })
  const control = field.querySelector('input')
  if (control) control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), warning.id].filter(Boolean).join(' '))
  const paint = () => {
    const date = ymap.get(key)
    const past = typeof date === 'string' && date < today()
    warning.hidden = !past
    warning.textContent = past ? message(date) : ''
  }
  paint()
  observeKeys(scope, ymap, [key], paint)
  field.append(warning)
  return field
}

/**
 * @param {FormContext} ctx
 */
export function bilanSection (ctx) {
  const bilan = ctx.roots.bilan
  const w = (k) => ctx.canWrite(`bilan/${k}`)
  return section('bilan', 'Bilan', null, (scope) => [
    row(
      dateField(ctx, scope, { ymap: bilan, key: 'date_evaluation_prevue', fieldKey: 'bilan/date_evaluation_prevue', label: 'Bilan prévu le', writable: w('date_evaluation_prevue') }),
      dateField(ctx, scope, { ymap: bilan, key: 'date_evaluation', fieldKey: 'bilan/date_evaluation', label: 'Bilan réalisé le', hint: 'Seulement une fois le bilan fait.', writable: w('date_evaluation') }),
      pastDateWarning(scope, bilan, 'prochaine_revision',
        dateField(ctx, scope, { ymap: bilan, key: 'prochaine_revision', fieldKey: 'bilan/prochaine_revision', label: 'Prochaine révision', writable: w('prochaine_revision'), hint: 'Au moins une fois par an.' }),
        (date) => `Cette date est passée (${formatDate(date)}) : la révision est en retard, fixez-en une nouvelle.`)),
    textField(ctx, scope, { ymap: bilan, key: 'perimetre', fieldKey: 'bilan/perimetre', label: 'Périmètre du bilan', writable: w('perimetre') }),
    checkboxesField(ctx, scope, { ymap: bilan, key: 'invites_ids', fieldKey: 'bilan/invites_ids', legend: 'Invités au bilan (membres du cercle)', options: ctx.peopleOptions, writable: w('invites_ids'), emptyText: 'Aucun invité' }),
    textField(ctx, scope, { ymap: bilan, key: 'invites_autres', fieldKey: 'bilan/invites_autres', label: 'Autres invités', hint: 'Un par ligne.', writable: w('invites_autres') }),
    textField(ctx, scope, { ymap: bilan, key: 'notes_preparation', fieldKey: 'bilan/notes_preparation', label: 'Notes de préparation', hint: 'Peuvent être écrites par la personne ou un proche.', writable: w('notes_preparation') }),
    textField(ctx, scope, { ymap: bilan, key: 'synthese', fieldKey: 'bilan/synthese', label: 'Synthèse du bilan', writable: w('synthese') }),
    stringField(ctx, scope, { ymap: bilan, key: 'redige_par', fieldKey: 'bilan/redige_par', label: 'Rédigé par', writable: w('redige_par') })])
}

/**
 * @param {FormContext} ctx
 */
export function accordsSection (ctx) {
  const list = h('ul', { class: 'accords' })
  const paint = () => {
    const items = ctx.roots.accords.toArray().filter((m) => m instanceof Y.Map)
    replace(list, ...items.map((a) => {
      const mode = a.get('mode') || 'signe'
      const parts = [
        `${ACCORD_TYPE_LABELS[a.get('type') || 'structure']} : ${ACCORD_MODE_LABELS[mode] || mode}`,
        a.get('par') ? `par ${ctx.memberName(a.get('par'))}` : '',
        a.get('temoin') ? `témoin : ${a.get('temoin')}` : '',
        a.get('date') ? `le ${formatDate(a.get('date'))}` : ''
      ].filter(Boolean)
      const motif = textOf(a, 'motif')
      return h('li', {}, parts.join(', '), motif ? h('span', { class: 'muted' }, ` — motif : ${motif}`) : null)
    }))
    if (!items.length) list.append(h('li', { class: 'ro-value--empty' }, 'Aucun accord enregistré (ils sont recueillis lors de la validation).'))
  }
  return section('accords', 'Accords', null, (scope) => {
    observe(scope, ctx.roots.accords, paint, true)
    paint()
    return [list]
  })
}
