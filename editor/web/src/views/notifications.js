// Settings page (#/notifications): email address, mobile number (verified by a code sent by
// SMS), channels and frequency per nature.
import { api, ApiError } from '../api.js'
import { announce, append, clear, h, uid } from '../dom.js'

const CHANNELS = [['app', "Dans l'application"], ['email', 'Courriel'], ['sms', 'SMS']]
const FREQUENCIES = [['immediate', "Au fil de l'eau"], ['daily', 'Quotidienne (18 h)'], ['weekly', 'Hebdomadaire (lundi 8 h)']]

/**
 * A French mobile number as typed ("06 12 34 56 78", "+33 6 12...") in the international form
 * the server wants ("+33612345678"); anything else is sent as typed (the server says why not).
 * @param {string} typed
 */
export function internationalMobile (typed) {
  const compact = typed.replace(/[\s.\-()]/g, '')
  if (/^0[67][0-9]{8}$/.test(compact)) return `+33${compact.slice(1)}`
  if (/^0033[0-9]{9}$/.test(compact)) return `+${compact.slice(2)}`
  return compact
}

export function mountNotificationSettings (root) {
  document.title = 'Notifications - PPA collaboratif'
  const status = h('p', { role: 'status' }, 'Chargement…')
  const mobileForm = h('form', { class: 'card mobile-settings', novalidate: true, 'aria-label': 'Mobile pour les SMS' })
  const form = h('form', { class: 'card notification-settings', novalidate: true })
  root.append(h('div', { class: 'page' }, h('h1', {}, 'Mes notifications'), status, mobileForm, form))
  let prefs = null
  let codeSent = false

  api('/api/me/notification-preferences').then((data) => {
    prefs = data
    status.textContent = ''
    render()
    renderMobile()
  }).catch((error) => {
    status.textContent = error instanceof ApiError ? error.message : 'Chargement impossible.'
  })

  function renderMobile () {
    if (!prefs.sms_available) {
      append(clear(mobileForm), [h('h2', {}, 'Mobile (SMS)'), h('p', { class: 'muted' }, "Ce service n'envoie pas de SMS.")])
      return
    }
    const numberId = uid('mobile')
    const codeId = uid('code')
    const state = prefs.mobile_verified
      ? `Numéro vérifié : ${prefs.mobile}. Vous pouvez choisir les SMS ci-dessous.`
      : prefs.mobile ? `Numéro ${prefs.mobile} à vérifier.` : 'Aucun numéro : indiquez-le pour recevoir des SMS.'
    // append() skips the absent parts (replaceChildren would write "null")
    append(clear(mobileForm), [
      h('h2', {}, 'Mobile (SMS)'),
      h('p', { 'data-testid': 'mobile-state' }, state),
      h('label', { for: numberId }, 'Numéro de mobile'),
      h('input', { id: numberId, type: 'tel', name: 'mobile', value: prefs.mobile || '', autocomplete: 'tel', placeholder: '06 12 34 56 78' }),
      h('button', { type: 'button', class: 'btn', on: { click: sendCode } }, 'Recevoir un code par SMS'),
      codeSent
        ? [
            h('label', { for: codeId }, 'Code reçu par SMS (6 chiffres)'),
            h('input', { id: codeId, name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' }),
            h('button', { type: 'submit', class: 'btn' }, 'Vérifier le numéro')
          ]
        : null,
      prefs.mobile ? h('button', { type: 'button', class: 'btn', on: { click: forget } }, 'Supprimer mon numéro') : null,
      h('p', { class: 'form-error', role: 'alert', 'data-testid': 'mobile-error' })
    ])
  }

  function mobileError (failure) {
    const error = mobileForm.querySelector('[data-testid="mobile-error"]')
    if (error) error.textContent = failure instanceof ApiError ? failure.message : 'Action impossible.'
  }

  /** The SMS column follows the number (an unsaved choice above is kept). */
  function smsBoxes () {
    for (const box of form.querySelectorAll('input[data-channel="sms"]')) {
      box.disabled = !prefs.mobile_verified
      if (!prefs.mobile_verified) box.checked = false
    }
  }

  async function sendCode () {
    const typed = mobileForm.querySelector('input[name="mobile"]')?.value || ''
    try {
      const state = await api('/api/me/mobile', { method: 'PUT', json: { mobile: internationalMobile(typed) } })
      prefs.mobile = state.mobile
      prefs.mobile_verified = state.verified
      codeSent = true
      renderMobile()
      smsBoxes()
      mobileForm.querySelector('input[name="code"]')?.focus()
      announce('Un code vous a été envoyé par SMS.')
    } catch (failure) {
      mobileError(failure)
    }
  }

  async function forget () {
    try {
      await api('/api/me/mobile', { method: 'DELETE' })
      prefs = await api('/api/me/notification-preferences')
      codeSent = false
      renderMobile()
      smsBoxes()
      announce('Numéro supprimé : plus aucun SMS.')
    } catch (failure) {
      mobileError(failure)
    }
  }

  mobileForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const code = mobileForm.querySelector('input[name="code"]')?.value.trim() || ''
    try {
      const state = await api('/api/me/mobile/verify', { method: 'POST', json: { code } })
      prefs.mobile = state.mobile
      prefs.mobile_verified = state.verified
      codeSent = false
      renderMobile()
      smsBoxes()
      announce('Numéro vérifié.')
    } catch (failure) {
      mobileError(failure)
    }
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
    append(clear(form), [
      h('p', {}, 'Les courriels et SMS ne contiennent aucune information de santé : la nature de l\'événement, les initiales de la personne, qui a agi, quand, et un lien.'),
      h('label', { for: emailId }, 'Adresse électronique'),
      h('input', { id: emailId, type: 'email', name: 'email', value: prefs.email || '', autocomplete: 'email' }),
      prefs.email_available ? null : h('p', { class: 'muted' }, "Ce service n'envoie pas encore de courriels."),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Événement'), CHANNELS.map(([, label]) => h('th', { scope: 'col' }, label)), h('th', { scope: 'col' }, 'Fréquence'))),
        h('tbody', {}, rows)),
      h('p', { class: 'form-error', role: 'alert', 'data-testid': 'settings-error' }),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn' }, 'Enregistrer'),
        prefs.natures.some((n) => n.custom)
          ? h('button', { type: 'button', class: 'btn', on: { click: resetAll } }, 'Revenir aux réglages par défaut')
          : null)
    ])
  }

  // Natures the user never changed follow the defaults of their role (which change with their
  // role): a save sends only what differs from what the page shows, or was already chosen.
  async function resetAll () {
    const error = form.querySelector('[data-testid="settings-error"]')
    try {
      prefs = await api('/api/me/notification-preferences', { method: 'PUT', json: { reset: prefs.natures.map((n) => n.nature) } })
      render()
      announce('Réglages par défaut rétablis.')
    } catch (failure) {
      if (error) error.textContent = failure instanceof ApiError ? failure.message : 'Action impossible.'
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const natures = prefs.natures.map((n) => ({
      nature: n.nature,
      channels: CHANNELS.map(([code]) => code).filter((code) => form.querySelector(`input[data-nature="${n.nature}"][data-channel="${code}"]`)?.checked),
      frequency: form.querySelector(`select[data-nature="${n.nature}"]`)?.value || n.frequency
    })).filter((choice, i) => {
      const shown = prefs.natures[i]
      return shown.custom || choice.frequency !== shown.frequency || choice.channels.join() !== shown.channels.join()
    })
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
