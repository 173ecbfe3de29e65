// "Mon projet": the person's own page, easy to read (FALC: short sentences, "vous", no codes, no
// professional analysis, pictograms). The person, or her aidant for her, writes her projet de vie,
// her attentes, her avis on each objective, and gives her agreement to the PPA online
// (POST /api/ppas/{id}/person-agreement). What they may write is what the server's live policy
// lets them write (server/collab/policy.py): nothing else is offered here.
import * as Y from 'yjs'
import { api, ApiError } from '../api.js'
import { getMe } from '../auth.js'
import { announce, formatDateTime, h, replace, uid } from '../dom.js'
import { personName } from '../labels.js'
import { CollabSession, SAVE_LABELS } from '../collab/session.js'
import { TextBinding } from '../collab/text.js'
import { addAttente, deleteItem } from '../model.js'
import { OWN_FIELD_ROLES, OWN_ORIGINS } from '../permissions.js'

// Pictograms: emoji (Unicode), shown beside the words, hidden from screen readers.
const PICTO = { home: '🏠', wish: '💬', goal: '🎯', yes: '👍', no: '👎', maybe: '🤔', sign: '✍️', print: '🖨️' }

const picto = (name) => h('span', { class: 'falc__picto', 'aria-hidden': 'true' }, PICTO[name])

/** The words of the page: to the person ("vous"), or to her aidant who writes for her. */
function wordsFor (role, first) {
  if (role === 'aidant') {
    return {
      intro: [`Vous écrivez pour ${first}.`, `Écrivez ce que ${first} dit.`, `Son équipe verra : « vous pour ${first} ».`],
      projet: `Le projet de vie de ${first}`,
      projetHelp: [`Ce que ${first} veut pour sa vie.`, 'Avec ses mots.'],
      attentes: `Ce que ${first} attend`,
      attentesHelp: [`Ce que ${first} veut avec l'équipe.`, 'Une idée par case.'],
      objectifs: `Les objectifs de ${first}`,
      objectifsHelp: ['L\'équipe a écrit ces objectifs.', `${first} est d'accord ?`],
      avis: `L'avis de ${first}`,
      accord: `L'accord de ${first}`,
      yes: `${first} est d'accord avec son projet`,
      no: `${first} n'est pas d'accord`,
      why: `Pourquoi ${first} n'est pas d'accord ?`
    }
  }
  return {
    intro: ['Voici votre projet.', 'Vous pouvez écrire dans les cases blanches.', 'Votre équipe lit ce que vous écrivez.'],
    projet: 'Votre projet de vie',
    projetHelp: ['Ce que vous voulez pour votre vie.', 'Écrivez avec vos mots.'],
    attentes: 'Ce que vous attendez',
    attentesHelp: ['Ce que vous voulez avec l\'équipe.', 'Une idée par case.'],
    objectifs: 'Vos objectifs',
    objectifsHelp: ['Votre équipe a écrit ces objectifs.', 'Êtes-vous d\'accord ?'],
    avis: 'Votre avis',
    accord: 'Votre accord',
    yes: 'Je suis d\'accord avec mon projet',
    no: 'Je ne suis pas d\'accord',
    why: 'Pourquoi vous n\'êtes pas d\'accord ?'
  }
}

const lines = (texts) => texts.map((t) => h('p', {}, t))

export function mountPersonView (root, { ppaId }) {
  const controller = new AbortController()
  const me = getMe()
  const cleanups = []
  let session = null
  const status = h('p', { class: 'loading', role: 'status' }, 'Chargement de votre projet…')
  root.append(status)
  document.title = 'Mon projet - PPA collaboratif'

  start().catch((error) => {
    if (error.name === 'AbortError') return
    status.textContent = error instanceof ApiError ? error.message : 'Votre projet ne s\'ouvre pas.'
    status.className = 'form-error'
    status.after(h('p', {}, h('a', { href: '#/', class: 'btn' }, 'Retour à l\'accueil')))
  })

  async function start () {
    const ppa = await api(`/api/ppas/${encodeURIComponent(ppaId)}`, { signal: controller.signal })
    const person = await api(`/api/persons/${encodeURIComponent(ppa.person_id)}`, { signal: controller.signal })
    status.remove()
    build(ppa, person)
  }

  function build (ppa, person) {
    const role = ppa.my_role
    const locked = ppa.locked || ['validated', 'superseded'].includes(ppa.status)
    const writable = OWN_FIELD_ROLES.has(role) && !locked
    const first = (person.first_names || '').split(/\s+/)[0] || 'la personne'
    const w = wordsFor(role, first)
    document.title = `${w.projet.replace('projet de vie', 'projet')} - PPA collaboratif`
    session = new CollabSession({ ppaId, user: me, persist: writable, readOnly: writable ? null : 'Lecture seule' })
    const doc = session.doc
    // end-to-end tests drive the live document through this handle, as in the editor (the
    // server is the referee of what may be written)
    window.ppaCollab = { session }
    const { projet_de_vie: projetDeVie, attentes, objectifs } = session.roots

    const saveState = h('p', { class: 'save-state falc__save', dataset: { state: 'connecting' } }, SAVE_LABELS.connecting)
    cleanups.push(session.on('state', (state) => {
      saveState.dataset.state = state
      saveState.textContent = SAVE_LABELS[state] || state
    }))
    // a notice of the server (a write corrected), or one kept from before a reload
    const pending = sessionStorage.getItem(`ppa.notice.${ppaId}`)
    sessionStorage.removeItem(`ppa.notice.${ppaId}`)
    const refused = h('p', { class: 'notice', role: 'alert', hidden: !pending }, pending || '')
    cleanups.push(session.on('notice', ({ message }) => { refused.hidden = false; refused.textContent = message }))
    // A write refused by the server (outside her own fields): this copy diverged for good; the
    // page opens again on the server's copy, saying why.
    cleanups.push(session.on('refused', async (message) => {
      await session.discardLocalCopy()
      sessionStorage.setItem(`ppa.notice.${ppaId}`, `${message.replace(/ Rechargez la page pour continuer\.?$/, '')} La page a été rechargée.`)
      window.dispatchEvent(new HashChangeEvent('hashchange'))
    }))

    // the bindings of the lists, destroyed when a list is painted again
    const listBindings = { attentes: [], objectifs: [] }
    const releaseList = (name) => { for (const b of listBindings[name].splice(0)) b.destroy() }
    cleanups.push(() => { releaseList('attentes'); releaseList('objectifs') })
    const textArea = (ytext, label, { rows = 4, list = null } = {}) => {
      const id = uid('falc')
      const el = h('textarea', { id, rows: String(rows), class: 'falc__text', readonly: !writable })
      const binding = new TextBinding({ doc, ytext, el })
      if (list) listBindings[list].push(binding)
      else cleanups.push(() => binding.destroy())
      return h('div', { class: 'field falc__field' }, h('label', { for: id }, label), el)
    }

    // -- projet de vie
    const projetSection = h('section', { class: 'card falc__section', 'aria-labelledby': 'falc-projet' },
      h('h2', { id: 'falc-projet' }, picto('home'), ' ', w.projet),
      lines(w.projetHelp),
      textArea(projetDeVie, w.projet, { rows: 6 }))

    // -- attentes: only those of the person and of her entourage (never the team's analysis)
    const attentesList = h('div', { class: 'falc__list' })
    const paintAttentes = () => {
      releaseList('attentes')
      const mine = attentes.toArray().filter((m) => OWN_ORIGINS.has(m.get('origine') || 'personne'))
      replace(attentesList, mine.length === 0 ? h('p', { class: 'muted' }, 'Rien pour le moment.') : null,
        mine.map((m, index) => {
          const ytext = m.get('texte')
          return h('div', { class: 'falc__item' },
            ytext instanceof Y.Text ? textArea(ytext, `Attente ${index + 1}`, { rows: 2, list: 'attentes' }) : h('p', {}, String(ytext || '')),
            writable
              ? h('button', {
                type: 'button',
                class: 'btn btn--ghost',
                on: { click: () => { deleteItem(doc, 'attentes', m.get('id')); announce('Attente enlevée.') } }
              }, `Enlever l'attente ${index + 1}`)
              : null)
        }))
    }
    const addButton = writable
      ? h('button', {
        type: 'button',
        class: 'btn',
        on: {
          click: () => {
            addAttente(doc, { origine: role === 'aidant' ? 'entourage' : 'personne' })
            requestAnimationFrame(() => attentesList.querySelector('.falc__item:last-child textarea')?.focus())
          }
        }
      }, 'Ajouter une attente')
      : null
    const attentesSection = h('section', { class: 'card falc__section', 'aria-labelledby': 'falc-attentes' },
      h('h2', { id: 'falc-attentes' }, picto('wish'), ' ', w.attentes), lines(w.attentesHelp), attentesList, addButton)

    // -- objectifs: the title, her agreement, her words (no codes, no evaluation)
    const objectifsList = h('div', { class: 'falc__list' })
    const paintObjectifs = () => {
      releaseList('objectifs')
      const items = objectifs.toArray().filter((m) => m.get('statut') !== 'annule')
      replace(objectifsList, items.length === 0 ? h('p', { class: 'muted' }, 'Pas encore d\'objectif.') : null,
        items.map((m, index) => objectifCard(m, index)))
    }
    const objectifCard = (m, index) => {
      const title = String(m.get('titre') ?? '') || `Objectif ${index + 1}`
      const headingId = uid('falc-obj')
      const name = uid('accord')
      const current = m.get('accord_usager') || 'non_exprime'
      const choice = (value, pictoName, label) => {
        const id = uid('accord')
        const input = h('input', { type: 'radio', id, name, value, checked: current === value, disabled: !writable })
        input.addEventListener('change', () => { if (input.checked) doc.transact(() => m.set('accord_usager', value)) })
        return h('div', { class: 'falc__choice' }, input, h('label', { for: id }, picto(pictoName), ' ', label))
      }
      const avis = m.get('avis_usager')
      return h('article', { class: 'falc__item falc__objectif', 'aria-labelledby': headingId },
        h('h3', { id: headingId }, `${index + 1}. ${title}`),
        h('fieldset', { class: 'falc__choices' },
          h('legend', {}, role === 'aidant' ? `${first} est d'accord ?` : 'Êtes-vous d\'accord ?'),
          choice('accord', 'yes', 'Oui, d\'accord'),
          choice('desaccord', 'no', 'Non, pas d\'accord'),
          choice('non_exprime', 'maybe', 'Je ne sais pas encore')),
        avis instanceof Y.Text ? textArea(avis, `${w.avis} sur l'objectif ${index + 1}`, { rows: 3, list: 'objectifs' }) : null)
    }

    const objectifsSection = h('section', { class: 'card falc__section', 'aria-labelledby': 'falc-objectifs' },
      h('h2', { id: 'falc-objectifs' }, picto('goal'), ' ', w.objectifs), lines(w.objectifsHelp), objectifsList)

    // -- her agreement to the whole PPA
    const agreementBox = h('div', { class: 'falc__agreement' })
    const agreementSection = h('section', { class: 'card falc__section', 'aria-labelledby': 'falc-accord' },
      h('h2', { id: 'falc-accord' }, picto('sign'), ' ', w.accord), agreementBox)
    const agreementUrl = `/api/ppas/${encodeURIComponent(ppaId)}/person-agreement`
    const paintAgreement = (state) => {
      const given = state?.agreement
      const said = given
        ? h('p', { class: given.current ? 'notice notice--ok' : 'notice notice--warning', role: 'status' },
          given.accord ? 'Accord donné' : 'Refus donné',
          ` le ${formatDateTime(given.given_at)} par ${given.par.replace(' (en ligne)', '')}.`,
          given.current ? '' : ' Le projet a changé depuis. Donnez votre réponse à nouveau.')
        : h('p', {}, 'Lisez votre projet. Puis dites si vous êtes d\'accord.')
      if (locked) {
        replace(agreementBox, h('p', {}, 'Ce projet est validé.'), h('p', {}, 'Votre accord est dans l\'historique du projet.'))
        return
      }
      if (!writable) { replace(agreementBox, said); return }
      const whyId = uid('why')
      const why = h('textarea', { id: whyId, rows: '3', class: 'falc__text' })
      const error = h('p', { class: 'form-error', role: 'alert' })
      const send = async (accord) => {
        error.textContent = ''
        if (!accord && !why.value.trim()) { error.textContent = 'Écrivez pourquoi, puis appuyez encore.'; why.focus(); return }
        try {
          await session.whenFlushed(10000) // the agreement is on what is saved, as shown
          const answer = await api(agreementUrl, { method: 'POST', json: { accord, motif: accord ? '' : why.value } })
          paintAgreement(answer)
          announce(accord ? 'Votre accord est enregistré.' : 'Votre refus est enregistré.')
        } catch (err) {
          error.textContent = err.message
        }
      }
      replace(agreementBox, said,
        h('div', { class: 'falc__buttons' },
          h('button', { type: 'button', class: 'btn btn--primary falc__big', on: { click: () => send(true) } }, picto('yes'), ' ', w.yes),
          h('button', { type: 'button', class: 'btn falc__big', on: { click: () => send(false) } }, picto('no'), ' ', w.no)),
        h('div', { class: 'field falc__field' }, h('label', { for: whyId }, w.why), why),
        error)
    }
    const loadAgreement = () => api(agreementUrl, { signal: controller.signal }).then(paintAgreement).catch(() => paintAgreement(null))

    const page = h('div', { class: 'page falc' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '#/' }, 'Accueil'), ' › ', personName(person)),
      h('h1', {}, role === 'aidant' ? `Le projet de ${first}` : 'Mon projet'),
      h('div', { class: 'falc__intro' }, lines(w.intro)),
      h('div', { class: 'falc__bar' }, saveState,
        h('a', { href: `#/ppa/${encodeURIComponent(ppaId)}`, class: 'btn btn--ghost' }, 'Voir le projet complet')),
      refused,
      projetSection, attentesSection, objectifsSection, agreementSection)
    root.append(page)

    const onStructure = () => { paintAttentes(); paintObjectifs() }
    const observer = (events) => {
      // items added or removed, an origine, a title or an agreement changed: paint again
      // (a text typed inside an item is kept live by its binding)
      if (events.some((e) => e.target === attentes || e.target === objectifs || (e.target instanceof Y.Map && !e.changes.keys.has('avis_usager') && !e.changes.keys.has('texte')))) onStructure()
    }
    attentes.observeDeep(observer)
    objectifs.observeDeep(observer)
    cleanups.push(() => { attentes.unobserveDeep(observer); objectifs.unobserveDeep(observer) })
    cleanups.push(session.on('loaded', onStructure))
    if (session.loaded) onStructure()
    loadAgreement()
  }

  return () => {
    controller.abort()
    for (const fn of cleanups) { try { fn() } catch (error) { console.error(error) } }
    if (session) session.destroy()
  }
}
