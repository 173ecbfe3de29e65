// The header's "Exercice" disclosure after a Pro Santé Connect login: the names, the
// professions and the structures PSC gave (GET /api/auth/psc/practice), read once per page.
import { api } from '../api.js'
import { h } from '../dom.js'

/**
 * @typedef {object} Practice
 * @property {string | null} given_name
 * @property {string | null} family_name
 * @property {string} national_id
 * @property {Array<{profession: string, name: string | null, activities: Array<{structure: string, finess: string | null, siret: string | null, place: string | null}>}>} exercises
 */

/** @type {Promise<Practice | null> | null} */
let asked = null

export function forgetPractice () {
  asked = null
}

/** @param {Practice} practice */
function describe (practice) {
  const names = [practice.given_name, practice.family_name].filter(Boolean).join(' ')
  return [
    h('p', {}, names ? `${names}, ` : '', `identifiant national ${practice.national_id}`),
    practice.exercises.length === 0
      ? h('p', {}, 'Aucun exercice transmis par Pro Santé Connect.')
      : h('ul', { class: 'practice__list' }, practice.exercises.map((exercise) =>
        h('li', {},
          h('strong', {}, exercise.profession),
          exercise.name ? ` (${exercise.name})` : '',
          exercise.activities.length
            ? h('ul', {}, exercise.activities.map((activity) =>
              h('li', {}, [
                activity.structure,
                activity.finess ? ` - FINESS ${activity.finess}` : '',
                activity.place ? ` - ${activity.place}` : ''
              ].join(''))))
            : null)))
  ]
}

/** @returns {HTMLDetailsElement} the disclosure, filled when the practice arrives */
export function practiceDetails () {
  const body = h('div', { class: 'practice__body' }, h('p', {}, 'Chargement…'))
  const details = /** @type {HTMLDetailsElement} */ (h('details', { class: 'practice' },
    h('summary', {}, 'Exercice'), body))
  asked ??= api('/api/auth/psc/practice').catch(() => null)
  asked.then((practice) => {
    body.replaceChildren(...(practice ? describe(practice) : [h('p', {}, 'Exercice indisponible.')]))
  })
  return details
}
