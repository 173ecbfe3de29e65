// The structured PPA form: one section per part of the content model, bound to the Yjs doc.
// Each family of sections lives in its own module; this one lists them in order.
import { projetDeVieSection, projetSection } from './context.js'
import { attentesSection, besoinsSection } from './attentes_besoins.js'
import { objectifsSection } from './objectifs.js'
import { actionsSection, moyensSection } from './actions.js'
import { accordsSection, bilanSection } from './validation.js'

/** @typedef {import('./kit.js').FormContext} FormContext */
/** @typedef {import('./fields.js').Scope} Scope */

export const SECTIONS = [
  ['projet', 'Projet'],
  ['projet_de_vie', 'Projet de vie'],
  ['attentes', 'Attentes'],
  ['besoins', 'Besoins'],
  ['objectifs', 'Objectifs'],
  ['actions', 'Actions'],
  ['moyens', 'Moyens'],
  ['bilan', 'Bilan'],
  ['accords', 'Accords']
]

/**
 * Every section of the form, bound to ctx.doc; `scope` holds their observers.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @returns {HTMLElement[]}
 */
export function renderForm (ctx, scope) {
  return [
    projetSection(ctx, scope),
    projetDeVieSection(ctx, scope),
    attentesSection(ctx, scope),
    besoinsSection(ctx, scope),
    objectifsSection(ctx, scope),
    actionsSection(ctx, scope),
    moyensSection(ctx, scope),
    bilanSection(ctx, scope),
    accordsSection(ctx, scope)
  ]
}
