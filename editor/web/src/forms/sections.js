// The structured PPA form: one section per part of the content model, bound to the Yjs doc.
// Each family of sections lives in its own module; this one lists them in order.
import { projetDeVieSection, projetSection } from './context.js'
import { attentesSection, besoinsSection } from './attentes_besoins.js'
import { objectifsSection } from './objectifs.js'
import { actionsSection, moyensSection } from './actions.js'
import { accordsSection, bilanSection } from './validation.js'

import * as Y from 'yjs'
import { debounce, formatDate } from '../dom.js'
import { textOf } from '../model.js'
import { bySeverity, pathSegments } from '../problems.js'
import { excerpt, mountSection } from './kit.js'

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

/** Items above which a PPA opens with only its first sections built (the rest on demand). */
export const LARGE_PPA_ITEMS = 40

const ITEM_SECTIONS = ['attentes', 'besoins', 'objectifs', 'actions', 'moyens', 'accords']
const NOUNS = {
  attentes: ['attente', 'attentes'],
  besoins: ['besoin', 'besoins'],
  objectifs: ['objectif', 'objectifs'],
  actions: ['action', 'actions'],
  moyens: ['moyen', 'moyens'],
  accords: ['accord', 'accords']
}
const plural = (n, [one, many]) => `${n} ${n > 1 ? many : one}`

/** Where a problem's path lands in the form (its section's id). */
export function sectionOfProblem (path) {
  const root = pathSegments(path)[0] || ''
  if (root === 'projet' && /motif_sans_projet_de_vie/.test(path)) return 'projet_de_vie'
  return root
}

/**
 * The summary line of a section: what it holds, and its points to complete.
 * @param {FormContext} ctx
 * @param {string} id
 */
function summaryOf (ctx, id) {
  const parts = []
  if (ITEM_SECTIONS.includes(id)) {
    const n = ctx.roots[id].toArray().filter((m) => m instanceof Y.Map).length
    parts.push(n ? plural(n, NOUNS[id]) : `Aucun${id === 'attentes' ? 'e' : ''} ${NOUNS[id][0]}`)
  } else if (id === 'projet') {
    parts.push(excerpt(textOf(ctx.roots.projet, 'titre') || 'Sans titre', 60))
  } else if (id === 'projet_de_vie') {
    const text = ctx.roots.projet_de_vie.toString().trim()
    parts.push(text ? excerpt(text, 80) : 'Pas encore écrit')
  } else if (id === 'bilan') {
    const date = ctx.roots.bilan.get('prochaine_revision')
    parts.push(date ? `Prochaine révision : ${formatDate(date)}` : 'Prochaine révision non fixée')
  }
  const mine = (ctx.problems.problems || []).filter((p) => sectionOfProblem(p.path) === id)
  const { blocking, warnings } = bySeverity(mine)
  if (blocking.length) parts.push(`${blocking.length} point${blocking.length > 1 ? 's' : ''} à compléter`)
  if (warnings.length) parts.push(`${warnings.length} à vérifier`)
  return { text: parts.join(' · '), problems: blocking.length > 0 }
}

/**
 * Every section of the form, bound to ctx.doc; `scope` holds their observers. Each section is
 * collapsible with a summary line; a large PPA (over LARGE_PPA_ITEMS items) opens with only its
 * first two sections built, the others are built when opened.
 * @param {FormContext} ctx
 * @param {Scope} scope
 * @returns {HTMLElement[]}
 */
export function renderForm (ctx, scope) {
  const sections = [
    projetSection(ctx),
    projetDeVieSection(ctx),
    attentesSection(ctx),
    besoinsSection(ctx),
    objectifsSection(ctx),
    actionsSection(ctx),
    moyensSection(ctx),
    bilanSection(ctx),
    accordsSection(ctx)
  ]
  const items = ITEM_SECTIONS.reduce((n, id) => n + ctx.roots[id].length, 0)
  const remembered = OPEN_STATE.get(ctx.doc.guid) || new Map()
  OPEN_STATE.set(ctx.doc.guid, remembered)
  const summaries = sections.map((el, index) => {
    const startOpen = remembered.has(el.id) ? remembered.get(el.id) : items <= LARGE_PPA_ITEMS || index < 2
    return [el.id, mountSection(el, scope, startOpen, (open) => remembered.set(el.id, open))]
  })
  const paint = () => {
    for (const [id, line] of summaries) {
      const { text, problems } = summaryOf(ctx, id)
      if (line.textContent !== text) line.textContent = text
      line.classList.toggle('section-summary--problems', problems)
    }
  }
  paint()
  const later = debounce(paint, 300)
  ctx.doc.on('update', later)
  scope.add(() => { later.cancel(); ctx.doc.off('update', later) })
  scope.add(ctx.problems.onChange(paint))
  return sections
}

/** Which sections the user opened or closed, per document (kept when the form is rebuilt). */
const OPEN_STATE = new Map()
