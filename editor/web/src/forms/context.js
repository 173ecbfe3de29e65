// The form's opening sections: the projet (title, type, period) and the person's projet de vie.
import { BESOIN_COMMUNICATION_LABELS, PRESENCE_LABELS, PROJET_TYPE_LABELS } from '../labels.js'
import { checkboxesField, dateField, selectField, textField } from './fields.js'
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
    }),
    ...participationFields(ctx, scope)
  ])
}

/**
 * The project's referent and meeting, the person's participation (rules 2 and 7).
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @returns {HTMLElement[]}
 */
function participationFields (ctx, scope) {
  const projet = ctx.roots.projet
  const w = (k) => ctx.canWrite(`projet/${k}`)
  return [
    selectField(ctx, scope, { ymap: projet, key: 'referent_id', fieldKey: 'projet/referent_id', label: 'Référent du projet', options: ctx.memberOptions, nullable: true, writable: w('referent_id') }),
    row(
      dateField(ctx, scope, { ymap: projet, key: 'date_reunion', fieldKey: 'projet/date_reunion', label: 'Réunion de projet', writable: w('date_reunion') }),
      selectField(ctx, scope, { ymap: projet, key: 'presence_personne', fieldKey: 'projet/presence_personne', label: 'Participation de la personne', options: entries(PRESENCE_LABELS), fallback: 'non_renseigne', writable: w('presence_personne') })),
    checkboxesField(ctx, scope, { ymap: projet, key: 'participants_reunion', fieldKey: 'projet/participants_reunion', legend: 'Participants à la réunion (membres du cercle)', options: ctx.peopleOptions, writable: w('participants_reunion'), emptyText: 'Aucun participant' }),
    textField(ctx, scope, { ymap: projet, key: 'participants_reunion_autres', fieldKey: 'projet/participants_reunion_autres', label: 'Autres participants', hint: 'Personnes qui ne sont pas membres du cercle.', writable: w('participants_reunion_autres') }),
    checkboxesField(ctx, scope, { ymap: projet, key: 'besoins_communication', fieldKey: 'projet/besoins_communication', legend: 'Besoins de communication de la personne', options: () => entries(BESOIN_COMMUNICATION_LABELS), writable: w('besoins_communication'), emptyText: 'Aucun' }),
    selectField(ctx, scope, { ymap: projet, key: 'personne_confiance_id', fieldKey: 'projet/personne_confiance_id', label: 'Personne de confiance (membre du cercle)', options: ctx.peopleOptions, nullable: true, writable: w('personne_confiance_id') }),
    textField(ctx, scope, { ymap: projet, key: 'personne_confiance', fieldKey: 'projet/personne_confiance', label: 'Personne de confiance (si elle n\'est pas membre du cercle)', multiline: false, writable: w('personne_confiance') })
  ]
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
