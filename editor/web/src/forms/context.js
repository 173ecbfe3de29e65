// The form's opening sections: the projet (title, type, period) and the person's projet de vie.
import { PROJET_TYPE_LABELS } from '../labels.js'
import { dateField, selectField, textField } from './fields.js'
import { entries, section, row } from './kit.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

/**
 * @param {FormContext} ctx
 */
export function projetSection (ctx) {
  const projet = ctx.roots.projet
  const w = (k) => ctx.canWrite(`projet/${k}`)
  return section('projet', 'Projet', null, (scope) => [
    textField(ctx, scope, { ymap: projet, key: 'titre', fieldKey: 'projet/titre', label: 'Titre du projet', multiline: false, writable: w('titre') }),
    selectField(ctx, scope, {
      ymap: projet,
      key: 'type',
      fieldKey: 'projet/type',
      label: 'Type de projet',
      hint: 'Nomenclature TRE_R390 de l\'ANS.',
      options: entries(PROJET_TYPE_LABELS).map(([code, name]) => [code, `${name} (${code})`]),
      fallback: 'PPA',
      writable: w('type')
    }),
    row(
      dateField(ctx, scope, { ymap: projet, key: 'date_debut', fieldKey: 'projet/date_debut', label: 'Début de la période', writable: w('date_debut') }),
      dateField(ctx, scope, { ymap: projet, key: 'date_fin', fieldKey: 'projet/date_fin', label: 'Fin de la période', writable: w('date_fin') })
    ),
    textField(ctx, scope, {
      ymap: projet,
      key: 'modalite_communication',
      fieldKey: 'projet/modalite_communication',
      label: 'Modalité de communication à la personne',
      hint: 'Comment le projet a été présenté et expliqué à la personne (support, présence d\'un proche…).',
      writable: w('modalite_communication')
    })])
}

/**
 * @param {FormContext} ctx
 */
export function projetDeVieSection (ctx) {
  return section('projet_de_vie', 'Projet de vie', 'Les aspirations de la personne, avec ses mots.', (scope) => [
    textField(ctx, scope, { ytext: ctx.roots.projet_de_vie, fieldKey: 'projet_de_vie', label: 'Projet de vie', writable: ctx.canWrite('projet_de_vie') }),
    textField(ctx, scope, {
      ymap: ctx.roots.projet,
      key: 'motif_sans_projet_de_vie',
      fieldKey: 'projet/motif_sans_projet_de_vie',
      label: 'Si aucun projet de vie n\'est écrit : pourquoi',
      hint: 'Par exemple : la personne ne souhaite pas l\'exprimer pour l\'instant.',
      writable: ctx.canWrite('projet/motif_sans_projet_de_vie')
    })])
}
