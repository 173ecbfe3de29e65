// Entry point: hash router (#/connexion, #/, #/ppa/<id>[/version/<n>|/diff/<a>/<b>]), header, views.
import './styles.css'
import { api, setUnauthenticatedHandler } from './api.js'
import { clearSession, getMe, getMethod, isLoggedIn, loadSession } from './auth.js'
import { clear, h } from './dom.js'
import { mountLogin } from './views/login.js'
import { mountList } from './views/list.js'
import { mountEditor } from './views/editor.js'
import { mountPersonView } from './views/person_view.js'
import { mountAuditorHome } from './views/auditor.js'
import { forgetLocalCopies } from './collab/session.js'
import { confirmDialog } from './dialog.js'
import { forgetPractice, practiceDetails } from './views/practice.js'
import { bell } from './views/bell.js'
import { mountNotificationSettings } from './views/notifications.js'

const main = document.getElementById('main')
const header = document.getElementById('app-header')
let cleanup = null
let stopBell = null

function go (hash) {
  if (location.hash === hash) route()
  else location.hash = hash
}

setUnauthenticatedHandler(() => {
  sessionStorage.setItem('ppa.flash', 'Votre session a expiré : reconnectez-vous.')
  go('#/connexion')
})

function renderHeader () {
  clear(header)
  if (stopBell) stopBell()
  stopBell = null
  const me = getMe()
  let bellElement = null
  if (me && isLoggedIn()) [bellElement, stopBell] = bell()
  header.append(
    h('div', { class: 'app-header__inner' },
      h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand__mark', 'aria-hidden': 'true' }, 'PPA'), ' collaboratif'),
      me && isLoggedIn()
        ? h('div', { class: 'app-header__user' },
          bellElement,
          h('span', { class: 'who' }, h('span', { class: 'sr-only' }, 'Connecté·e : '), me.display_name),
          getMethod() === 'psc' ? practiceDetails() : null,
          h('button', {
            type: 'button',
            class: 'btn btn--ghost',
            on: {
              click: async () => {
                const session = window.ppaCollab?.session
                if (session?.unsaved && !(await confirmDialog(
                  "Des modifications ne sont pas encore enregistrées sur le serveur (hors ligne ?). En vous déconnectant, elles seront perdues. Se déconnecter quand même ?",
                  { confirmLabel: 'Se déconnecter', danger: true }))) return
                await forgetLocalCopies(me.id)
                /** @type {{redirect_url?: string | null} | null} */
                let ended = null
                try {
                  ended = await api('/api/auth/logout', { method: 'POST' })
                } catch (error) {
                  console.error(error) // the session ends on the server anyway (idle time)
                }
                clearSession()
                forgetPractice()
                if (ended?.redirect_url) {
                  location.assign(ended.redirect_url) // the identity provider's own logout
                  return
                }
                go('#/connexion')
              }
            }
          }, 'Se déconnecter'))
        : null
    )
  )
}

async function route () {
  if (cleanup) {
    try { cleanup() } catch (error) { console.error(error) }
    cleanup = null
  }
  clear(main)
  const hash = location.hash || '#/'
  const loggedIn = isLoggedIn()
  renderHeader()
  let match
  if (hash === '#/connexion') {
    if (loggedIn) return go('#/')
    cleanup = mountLogin(main, { onLoggedIn: () => go(sessionStorage.getItem('ppa.next') || '#/') })
  } else if (!loggedIn) {
    if (hash !== '#/') sessionStorage.setItem('ppa.next', hash)
    return go('#/connexion')
  } else if (hash === '#/notifications') {
    sessionStorage.removeItem('ppa.next')
    cleanup = mountNotificationSettings(main)
  } else if ((match = /^#\/ppa\/([^/?#]+)\/moi$/.exec(hash))) {
    sessionStorage.removeItem('ppa.next')
    cleanup = mountPersonView(main, { ppaId: decodeURIComponent(match[1]) })
  } else if (hash === '#/audit') {
    sessionStorage.removeItem('ppa.next')
    cleanup = mountAuditorHome(main)
  } else if ((match = /^#\/ppa\/([^/?#]+)(?:\/version\/(\d+)|\/diff\/(\d+)\/(\d+))?$/.exec(hash))) {
    // #/ppa/<id>/version/<n> opens that version, #/ppa/<id>/diff/<a>/<b> the comparison of two
    // versions (the links of notifications), over the PPA's page
    sessionStorage.removeItem('ppa.next')
    const open = match[2] ? { version: Number(match[2]) } : match[3] ? { diff: [Number(match[3]), Number(match[4])] } : null
    cleanup = mountEditor(main, { ppaId: decodeURIComponent(match[1]), open })
  } else {
    sessionStorage.removeItem('ppa.next')
    cleanup = mountList(main)
  }
}

// The skip link's "#main" would be a route (the home list): it moves the focus instead.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault()
  main.focus()
  main.scrollIntoView({ block: 'start' })
})

window.addEventListener('hashchange', route)
loadSession().then(route) // the cookie, if any, says who is logged in
