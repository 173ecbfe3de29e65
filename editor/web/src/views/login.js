// Login page: the password login opens a server-side session (an HttpOnly cookie the page never
// sees); what comes back (who, the CSRF token) stays in memory (auth.js).
import { api, ApiError } from '../api.js'
import { setSession } from '../auth.js'
import { h } from '../dom.js'
import { loginProviders, providersSection } from './login_providers.js'

export function mountLogin (root, { onLoggedIn }) {
  document.title = 'Connexion - PPA collaboratif'
  const flash = sessionStorage.getItem('ppa.flash')
  sessionStorage.removeItem('ppa.flash')
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' })
  const username = h('input', { id: 'login-username', name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' })
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })
  const submit = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Se connecter')
  const form = h('form', {
    class: 'login-form',
    'aria-describedby': 'login-error',
    on: {
      submit: async (event) => {
        event.preventDefault()
        error.textContent = ''
        submit.disabled = true
        try {
          const session = await api('/api/auth/login', {
            method: 'POST',
            json: { username: username.value.trim(), password: password.value }
          })
          setSession(session)
          onLoggedIn()
        } catch (err) {
          error.textContent = err instanceof ApiError ? err.message : 'Connexion impossible.'
          password.focus()
          password.select()
        } finally {
          submit.disabled = false
        }
      }
    }
  },
  h('div', { class: 'field' }, h('label', { for: 'login-username' }, 'Identifiant'), username),
  h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Mot de passe'), password),
  error,
  submit)
  const providers = h('div', { class: 'login-providers' })
  root.append(
    h('div', { class: 'login-page' },
      h('h1', {}, 'Connexion'),
      h('p', { class: 'lead' }, "Projet personnalisé d'accompagnement, co-construit en équipe avec la personne."),
      flash ? h('p', { class: 'notice', role: 'status' }, flash) : null,
      providers,
      form)
  )
  loginProviders().then((offered) => {
    const section = providersSection(offered, sessionStorage.getItem('ppa.next') || '#/')
    if (section) providers.replaceWith(section)
  })
  username.focus()
  return () => {}
}
