// Settings page (#/notifications): email address, channels and frequency per nature.
import { api, ApiError } from '../api.js'
import { announce, h, uid } from '../dom.js'

const CHANNELS = [['app', "Dans l'application"], ['email', 'Courriel'], ['sms', 'SMS']]
const FREQUENCIES = [['immediate', "Au fil de l'eau"], ['daily', 'Quotidienne (18 h)'], ['weekly', 'Hebdomadaire (lundi 8 h)']]

export function mountNotificationSettings (root) {
  document.title = 'Notifications - PPA collaboratif'
  const status = h('p', { role: 'status' }, 'Chargement…')
  const form = h('form', { class: 'card notification-settings', novalidate: true })
  root.append(h('div', { class: 'page' }, h('h1', {}, 'Mes notifications'), status, form))
  let prefs = null

  api('/api/me/notification-preferences').then((data) => {
    prefs = data
    status.textContent = ''
    render()
  }).catch((error) => {
    status.textContent = error instanceof ApiError ? error.message : 'Chargement impossible.'
  })

  function render () {
    const emailId = uid('email')
    const rows = prefs.natures.map((n) => {
      const cells = CHANNELS.map(([code, label]) => h('td', {},
        h('input', {
          type: 'checkbox',
          'aria-label': `${label} : ${n.label}`,
          checked: n.channels.includes(code),
          disabled: code === 'sms' && !prefs.mobile_verified,
          dataset: { nature: n.nature, channel: code }
        })))
      const select = h('select', { 'aria-label': `Fréquence : ${n.label}`, dataset: { nature: n.nature, frequency: '1' } },
        FREQUENCIES.map(([code, label]) => h('option', { value: code, selected: n.frequency === code }, label)))
      return h('tr', {}, h('th', { scope: 'row' }, n.label), cells, h('td', {}, select))
    })
    form.replaceChildren(
      h('p', {}, 'Les courriels et SMS ne contiennent aucune information de santé : la nature de l\'événement, les initiales de la personne, qui a agi, quand, et un lien.'),
      h('label', { for: emailId }, 'Adresse électronique'),
      h('input', { id: emailId, type: 'email', name: 'email', value: prefs.email || '', autocomplete: 'email' }),
      prefs.email_available ? null : h('p', { class: 'muted' }, "Ce service n'envoie pas encore de courriels."),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Événement'), CHANNELS.map(([, label]) => h('th', { scope: 'col' }, label)), h('th', { scope: 'col' }, 'Fréquence'))),
        h('tbody', {}, rows)),
      h('p', { class: 'form-error', role: 'alert', 'data-testid': 'settings-error' }),
      h('button', { type: 'submit', class: 'btn' }, 'Enregistrer')
    )
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const natures = prefs.natures.map((n) => ({
      nature: n.nature,
      channels: CHANNELS.map(([code]) => code).filter((code) => form.querySelector(`input[data-nature="${n.nature}"][data-channel="${code}"]`)?.checked),
      frequency: form.querySelector(`select[data-nature="${n.nature}"]`)?.value || n.frequency
    }))
    const email = form.querySelector('input[name="email"]')?.value.trim() || null
    const error = form.querySelector('[data-testid="settings-error"]')
    try {
      prefs = await api('/api/me/notification-preferences', { method: 'PUT', json: { email, natures } })
      render()
      announce('Réglages enregistrés.')
    } catch (failure) {
      if (error) error.textContent = failure instanceof ApiError ? failure.message : 'Enregistrement impossible.'
    }
  })
  return () => {}
}
