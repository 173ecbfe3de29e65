// Login page: the outside identity providers the service offers (GET /api/auth/providers).
// Pro Santé Connect is a text button (no logo asset shipped) that takes the browser to the
// provider; it comes back logged in, on the route asked for (`next`, an editor route only).
import { api } from '../api.js'
import { h } from '../dom.js'

/**
 * What the service offers (null when it cannot be asked: the login form alone is shown).
 * @typedef {object} LoginProviders
 * @property {boolean} password whether professionals may use the login form
 * @property {Array<{id: string, name: string, login_url: string}>} providers
 */

/** @returns {Promise<LoginProviders | null>} */
export async function loginProviders () {
  try {
    return await api('/api/auth/providers')
  } catch {
    return null
  }
}

/**
 * The section of the login page with one button per provider (null: none offered).
 * @param {LoginProviders | null} offered
 * @param {string} next the editor route to come back to
 * @returns {HTMLElement | null}
 */
export function providersSection (offered, next) {
  const providers = offered?.providers ?? []
  if (providers.length === 0) return null
  const route = /^#\/[A-Za-z0-9/_.~%-]*$/.test(next) ? next : '#/'
  return h('section', { class: 'login-providers', 'aria-labelledby': 'login-providers-title' },
    h('h2', { id: 'login-providers-title', class: 'login-providers__title' }, 'Professionnels'),
    providers.map((provider) =>
      h('a', {
        class: 'btn btn--primary btn--provider',
        href: `${provider.login_url}?${new URLSearchParams({ next: route })}`
      }, `Se connecter avec ${provider.name}`)),
    h('p', { class: 'hint' }, 'Avec votre carte CPS ou l’application e-CPS.'),
    offered?.password
      ? null
      : h('p', { class: 'hint' }, 'Le formulaire ci-dessous est réservé aux personnes accompagnées, aux aidants et aux administrateurs.'))
}
