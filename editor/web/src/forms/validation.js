// The closing sections: bilan (evaluation, next review) and the accords recorded at validation.
import * as Y from 'yjs'
import { formatDate, h, replace } from '../dom.js'
import { ACCORD_MODE_LABELS, ACCORD_TYPE_LABELS } from '../labels.js'
import { textOf } from '../model.js'
import { checkboxesField, dateField, observe, stringField, textField } from './fields.js'
import { section, row } from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
export function bilanSection (ctx, scope) {
  const bilan = ctx.roots.bilan
  const w = (k) => ctx.canWrite(`bilan/${k}`)
  return section('bilan', 'Bilan', null,
    row(
      dateField(ctx, scope, { ymap: bilan, key: 'date_evaluation_prevue', fieldKey: 'bilan/date_evaluation_prevue', label: 'Bilan prévu le', writable: w('date_evaluation_prevue') }),
      dateField(ctx, scope, { ymap: bilan, key: 'date_evaluation', fieldKey: 'bilan/date_evaluation', label: 'Bilan réalisé le', hint: 'Seulement une fois le bilan fait.', writable: w('date_evaluation') }),
      dateField(ctx, scope, { ymap: bilan, key: 'prochaine_revision', fieldKey: 'bilan/prochaine_revision', label: 'Prochaine révision', writable: w('prochaine_revision'), hint: 'Au moins une fois par an.' })),
    textField(ctx, scope, { ymap: bilan, key: 'perimetre', fieldKey: 'bilan/perimetre', label: 'Périmètre du bilan', writable: w('perimetre') }),
    checkboxesField(ctx, scope, { ymap: bilan, key: 'invites_ids', fieldKey: 'bilan/invites_ids', legend: 'Invités au bilan (membres du cercle)', options: ctx.peopleOptions, writable: w('invites_ids'), emptyText: 'Aucun invité' }),
    textField(ctx, scope, { ymap: bilan, key: 'invites_autres', fieldKey: 'bilan/invites_autres', label: 'Autres invités', hint: 'Un par ligne.', writable: w('invites_autres') }),
    textField(ctx, scope, { ymap: bilan, key: 'notes_preparation', fieldKey: 'bilan/notes_preparation', label: 'Notes de préparation', hint: 'Peuvent être écrites par la personne ou un proche.', writable: w('notes_preparation') }),
    textField(ctx, scope, { ymap: bilan, key: 'synthese', fieldKey: 'bilan/synthese', label: 'Synthèse du bilan', writable: w('synthese') }),
    stringField(ctx, scope, { ymap: bilan, key: 'redige_par', fieldKey: 'bilan/redige_par', label: 'Rédigé par', writable: w('redige_par') }))
}

/**
 * @param {FormContext} ctx
 * @param {Scope} scope
 */
export function accordsSection (ctx, scope) {
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
  observe(scope, ctx.roots.accords, paint, true)
  paint()
  return section('accords', 'Accords', null, list)
}
