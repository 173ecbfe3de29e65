// The bell of the header: unread count kept live by a Server-Sent Events stream
// (/api/me/notifications/stream), a panel listing the latest notices with their links.
import { api, ApiError } from '../api.js'
import { announce, formatDateTime, h } from '../dom.js'

/**
 * The bell button and its panel; returns [element, stop].
 * @returns {[HTMLElement, () => void]}
 */
export function bell () {
  const count = h('span', { class: 'bell__count', 'data-testid': 'bell-count', hidden: true }, '0')
  const label = h('span', { class: 'sr-only' }, 'Notifications')
  const button = h('button', {
    type: 'button',
    class: 'btn btn--ghost bell',
    'aria-expanded': 'false',
    'aria-controls': 'bell-panel',
    'data-testid': 'bell'
  }, h('span', { 'aria-hidden': 'true' }, '🔔'), label, count)
  const panel = h('div', { id: 'bell-panel', class: 'bell__panel card', hidden: true, role: 'region', 'aria-label': 'Notifications' })
  const wrapper = h('div', { class: 'bell__wrap' }, button, panel)
  let unread = 0

  function show (n) {
    const previous = unread
    unread = n
    count.textContent = String(n)
    count.hidden = n === 0
    label.textContent = n === 0 ? 'Notifications (aucune non lue)' : `Notifications (${n} non lue${n > 1 ? 's' : ''})`
    if (n > previous) announce(`${n} notification${n > 1 ? 's' : ''} non lue${n > 1 ? 's' : ''}`)
  }

  async function openPanel () {
    panel.replaceChildren(h('p', { role: 'status' }, 'Chargement…'))
    panel.hidden = false
    button.setAttribute('aria-expanded', 'true')
    try {
      const page = await api('/api/me/notifications?limit=20')
      show(page.unread)
      const items = page.items.map((n) => h('li', { class: n.read ? 'notice' : 'notice notice--unread' },
        h('a', { href: n.link }, n.label),
        h('span', { class: 'muted' }, [n.initials ? ` · ${n.initials}` : '', n.actor_name ? ` · ${n.actor_name}` : '', ` · ${formatDateTime(n.created_at)}`].join(''))
      ))
      panel.replaceChildren(
        h('div', { class: 'bell__actions' },
          h('button', {
            type: 'button',
            class: 'btn btn--ghost',
            on: {
              click: async () => {
                const result = await api('/api/me/notifications/read', { method: 'POST', json: { all: true } })
                show(result.unread)
                for (const li of panel.querySelectorAll('.notice--unread')) li.classList.remove('notice--unread')
              }
            }
          }, 'Tout marquer comme lu'),
          h('a', { href: '#/notifications' }, 'Réglages')),
        items.length ? h('ul', { class: 'bell__list' }, items) : h('p', {}, 'Aucune notification.')
      )
    } catch (error) {
      panel.replaceChildren(h('p', { class: 'form-error' }, error instanceof ApiError ? error.message : 'Chargement impossible.'))
    }
  }

  function closePanel () {
    panel.hidden = true
    button.setAttribute('aria-expanded', 'false')
  }

  button.addEventListener('click', () => (panel.hidden ? openPanel() : closePanel()))
  panel.addEventListener('click', (event) => {
    if (event.target instanceof HTMLAnchorElement) closePanel()
  })

  const source = new EventSource('/api/me/notifications/stream')
  source.addEventListener('unread', (event) => {
    show(JSON.parse(/** @type {MessageEvent} */ (event).data).unread)
  })
  return [wrapper, () => source.close()]
}
