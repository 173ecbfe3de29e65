// The step of the PPA's life (recueil -> objectifs -> actions -> validation -> mise en oeuvre ->
// bilan/avenant) and the next thing to do, shown above the form.
import * as Y from 'yjs'
import { formatDate, h, replace } from '../dom.js'
import { bySeverity } from '../problems.js'

export const LIFE_STEPS = [
  ['recueil', 'Recueil'],
  ['objectifs', 'Objectifs'],
  ['actions', 'Actions'],
  ['validation', 'Validation'],
  ['mise_en_oeuvre', 'Mise en œuvre'],
  ['bilan', 'Bilan ou avenant']
]

const count = (arr) => arr.toArray().filter((m) => m instanceof Y.Map).length
const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' })

/**
 * Where the PPA is in its life and what comes next.
 * @param {{status: string}} ppa
 * @param {ReturnType<typeof import('../collab/session.js').roots>} roots
 * @param {Array<{severity?: string}>} problems
 * @returns {{step: string, next: string}}
 */
export function lifeStep (ppa, roots, problems) {
  if (ppa.status === 'superseded') return { step: 'bilan', next: 'Ce PPA a été remplacé par une révision : ouvrez le nouveau PPA depuis l\'accueil.' }
  if (ppa.status === 'avenant_draft') return { step: 'bilan', next: 'Avenant en cours : modifiez les actions, leurs modalités et le planning, puis faites valider l\'avenant par la coordinatrice.' }
  if (ppa.status === 'validated') {
    const review = roots.bilan.get('prochaine_revision')
    if (typeof review === 'string' && review < today()) return { step: 'bilan', next: `La révision prévue le ${formatDate(review)} est passée : préparez le bilan, puis un avenant ou une révision.` }
    return { step: 'mise_en_oeuvre', next: review ? `PPA en vigueur : mise en œuvre des actions jusqu'à la révision du ${formatDate(review)}.` : 'PPA en vigueur : mise en œuvre des actions.' }
  }
  const blocking = bySeverity(problems).blocking.length
  const points = blocking ? `${blocking} point${blocking > 1 ? 's' : ''} à compléter, puis ` : ''
  if (!count(roots.attentes) && !count(roots.besoins)) return { step: 'recueil', next: 'Recueillez les attentes de la personne et ses besoins (SERAFIN-PH).' }
  if (!count(roots.objectifs)) return { step: 'objectifs', next: 'Fixez les objectifs, chacun répondant à un besoin.' }
  if (!count(roots.actions)) return { step: 'actions', next: 'Décrivez les actions au service des objectifs : qui, quand, où.' }
  return { step: 'validation', next: `${points ? points.charAt(0).toUpperCase() + points.slice(1) : ''}${points ? 'faire' : 'Faire'} valider par la coordinatrice (« Historique, validation et exports »).` }
}

/**
 * The steps as an ordered list (the current one marked) and the next action; paint() repaints.
 * @returns {{el: HTMLElement, paint: (state: {step: string, next: string}) => void}}
 */
export function lifeSteps () {
  const list = h('ol', { class: 'life-steps__list' })
  const next = h('p', { class: 'life-steps__next' })
  const el = h('nav', { class: 'life-steps', 'aria-label': 'Étapes du PPA' }, list, next)
  let last = ''
  const paint = ({ step, next: text }) => {
    if (`${step}|${text}` === last) return
    last = `${step}|${text}`
    const at = LIFE_STEPS.findIndex(([id]) => id === step)
    replace(list, ...LIFE_STEPS.map(([, label], index) => h('li', {
      class: ['life-steps__step', index < at ? 'life-steps__step--done' : null, index === at ? 'life-steps__step--current' : null],
      'aria-current': index === at ? 'step' : null
    }, label)))
    next.textContent = text
  }
  return { el, paint }
}
