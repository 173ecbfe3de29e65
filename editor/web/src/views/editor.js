// The PPA editor page: live structured form, presence, save state, problems, history panel.
import { api, ApiError } from '../api.js'
import { clearSession, getMe } from '../auth.js'
import { announce, debounce, h, replace } from '../dom.js'
import { AVENANT_OBJECTIF_FIELDS, PPA_STATUS_LABELS, personName, roleLabel } from '../labels.js'
import { CollabSession, SAVE_LABELS, orphanedLocalEdits } from '../collab/session.js'
import { Presence } from '../collab/presence.js'
import { ProblemRegistry, bySeverity, isBlocking, problemText } from '../problems.js'
import { SerafinLabels } from '../serafin.js'
import { Scope } from '../forms/fields.js'
import { renderForm, SECTIONS, sectionOfProblem } from '../forms/sections.js'
import { openSection } from '../forms/kit.js'
import { lockedReasonFor, modeFor, ownFieldWritable } from '../permissions.js'
import { mountHistory } from './history.js'
import { lifeStep, lifeSteps } from './lifecycle.js'
import { mountUndo } from './undo.js'
import { printTools } from './print.js'
import { mountComments } from '../comments/panel.js'

export function mountEditor (root, { ppaId, open = null }) {
  const controller = new AbortController()
  const pageScope = new Scope()
  const me = getMe()
  let session = null
  let presence = null
  const status = h('p', { class: 'loading', role: 'status' }, 'Chargement du PPA…')
  root.append(status)
  document.title = 'PPA - PPA collaboratif'

  start().catch((error) => {
    if (error.name === 'AbortError') return
    console.error(error)
    status.textContent = error instanceof ApiError
      ? (error.status === 404 ? 'PPA introuvable, ou non partagé avec vous.' : error.message)
      : 'Impossible d\'ouvrir ce PPA.'
    status.className = 'form-error'
    // never a dead end: the way back to the list of what one may open
    status.after(h('p', {}, h('a', { href: '#/', class: 'btn' }, 'Retour à l\'accueil : vos personnes et PPA'),
      error instanceof ApiError && error.status === 403 ? [' ', h('a', { href: '#/audit', class: 'btn btn--ghost' }, 'Espace audit (si vous auditez ce dossier)')] : null))
  })

  async function start () {
    const ppa = await api(`/api/ppas/${encodeURIComponent(ppaId)}`, { signal: controller.signal })
    const [person, cercle] = await Promise.all([
      api(`/api/persons/${encodeURIComponent(ppa.person_id)}`, { signal: controller.signal }),
      api(`/api/persons/${encodeURIComponent(ppa.person_id)}/cercle`, { signal: controller.signal }).catch(() => [])
    ])
    status.remove()
    build(ppa, person, cercle)
  }

  function build (initialPpa, person, cercle) {
    let ppa = initialPpa
    let { mode, reason, locked } = modeFor(ppa)
    const role = ppa.my_role
    document.title = `${ppa.title} - ${personName(person)} - PPA collaboratif`

    // -- members (referents, intervenants): professionals of the cercle. The demo and the exports
    // designate professionals by their professional id; other members by their member id.
    const professionals = cercle.filter((m) => m.kind === 'professional' && !m.opposed)
    const memberOptions = () => professionals.map((m) => [m.professional_id || m.id, m.display_name])
    const people = cercle.filter((m) => !m.opposed && ['professional', 'aidant', 'legal_representative', 'person'].includes(m.kind))
    const peopleOptions = () => people.map((m) => [m.kind === 'professional' ? (m.professional_id || m.id) : m.id, m.display_name])
    const memberName = (id) => {
      const m = cercle.find((x) => x.id === id || x.professional_id === id || x.user_id === id)
      return m ? m.display_name : id
    }

    session = new CollabSession({
      ppaId,
      user: me,
      persist: mode !== 'read',
      readOnly: mode === 'read' ? reason : null
    })
    // an aidant writes on the person's behalf: colleagues see "X pour Y" beside the field
    const presenceUser = role === 'aidant'
      ? { ...me, display_name: `${me.display_name} pour ${person.first_names.split(/\s+/)[0]}` }
      : me
    presence = new Presence(session, presenceUser)
    // Debugging and end-to-end tests drive the live document from page JS through this handle
    // (nothing it allows is beyond what any client can send: the server is the referee).
    window.ppaCollab = { session, presence }
    const problems = new ProblemRegistry()
    const serafin = new SerafinLabels(ppa.serafin || {})

    // -- page skeleton
    // Not a live region: it flips between "Enregistrement…" and "Enregistré" at every keystroke;
    // paintSave announces the changes that matter (offline, back online, disconnected).
    const saveState = h('p', { class: 'save-state', dataset: { state: 'connecting' } }, SAVE_LABELS.connecting)
    const presenceList = h('ul', { class: 'presence', 'aria-label': 'Personnes présentes dans le document' })
    const badges = h('p', { class: 'badges' })
    const banner = h('div', { class: 'banner', role: 'note', hidden: true })
    const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' })
    const rightsNotice = h('p', { class: 'notice notice--rights', role: 'alert', hidden: true })
    const problemsSummary = h('details', { class: 'problems-summary', hidden: true })
    const formRoot = h('div', { class: 'ppa-form', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Chargement du document…'))
    const historyButton = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': 'history-panel' }, 'Historique, validation et exports')
    const aside = h('aside', { class: 'side-panel', id: 'history-panel', hidden: true, 'aria-label': 'Historique, validation et exports' })
    // comments and suggestions (issue 17): every role that reads the PPA's history, esms aside
    const commentsOk = Boolean(role) && role !== 'esms'
    const commentsCount = h('span', { class: 'comments-count', 'data-testid': 'comments-count' }, '')
    const commentsButton = commentsOk
      ? h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': 'comments-panel', 'data-testid': 'comments-button' }, 'Commentaires', commentsCount)
      : null
    const commentsAside = h('aside', { class: 'side-panel side-panel--comments', id: 'comments-panel', hidden: true, 'aria-label': 'Commentaires et suggestions' })
    // A jump to a section lands on it even when content above it finishes loading just after
    // (the history panel sits above the form on a narrow screen): for a second, a layout shift
    // brings the section back to the top, unless the user scrolls meanwhile.
    const jumpTo = (target) => {
      if (!target) return
      target.scrollIntoView({ block: 'start' })
      target.focus({ preventScroll: true })
      const top = target.getBoundingClientRect().top
      const observer = new ResizeObserver(() => {
        if (Math.abs(target.getBoundingClientRect().top - top) > 8) target.scrollIntoView({ block: 'start' })
      })
      const stop = () => {
        observer.disconnect()
        for (const type of ['wheel', 'touchstart', 'keydown']) window.removeEventListener(type, stop)
      }
      for (const type of ['wheel', 'touchstart', 'keydown']) window.addEventListener(type, stop, { once: true, passive: true })
      observer.observe(document.querySelector('.editor-layout') || document.body)
      setTimeout(stop, 1000)
    }
    const nav = h('nav', { class: 'toc', 'aria-label': 'Parties du PPA' },
      h('ul', {}, SECTIONS.map(([id, label]) => h('li', {}, h('a', {
        href: `#/ppa/${encodeURIComponent(ppaId)}`,
        on: {
          click: (event) => {
            event.preventDefault()
            openSection(id)
            jumpTo(document.getElementById(id))
          }
        }
      }, label)))))

    // the PPA's life step and next action; on a narrow screen the section menu is in the bar
    const steps = lifeSteps()
    const jumpId = 'section-jump'
    const jump = h('select', { id: jumpId, class: 'section-jump__select' },
      h('option', { value: '' }, 'Aller à…'),
      SECTIONS.map(([id, label]) => h('option', { value: id }, label)))
    jump.addEventListener('change', () => {
      const id = jump.value
      jump.value = ''
      if (!id) return
      openSection(id)
      jumpTo(document.getElementById(id))
    })
    const paintBadges = () => {
      replace(badges, 
        h('span', { class: `badge badge--${ppa.status}` }, PPA_STATUS_LABELS[ppa.status] || ppa.status),
        ppa.locked || locked ? h('span', { class: 'badge badge--locked' }, 'Verrouillé') : null,
        ppa.echu ? h('span', { class: 'badge badge--echu', title: ppa.echu_reasons.join(' ') }, 'Échu') : null,
        h('span', { class: 'badge badge--role' }, `Votre rôle : ${roleLabel(role)}`))
      if (session.loaded) steps.paint(lifeStep(ppa, session.roots, problems.problems || []))
    }
    const paintBanner = () => {
      banner.hidden = !reason
      banner.className = `banner ${locked ? 'banner--locked' : mode === 'own' ? 'banner--info' : 'banner--readonly'}`
      replace(banner, 
        h('strong', {}, locked ? 'Document verrouillé. ' : mode === 'own' ? 'Vos champs. ' : 'Lecture seule. '),
        reason || '')
    }
    paintBadges()
    paintBanner()
    // rule 6: a PPA in force past its period or its review date says so, with why
    if (ppa.echu) banner.before(h('p', { class: 'notice', role: 'note' }, `PPA échu : ${ppa.echu_reasons.join(' ')} Une révision (nouveau PPA) est à préparer.`))
    const pending = sessionStorage.getItem(`ppa.notice.${ppaId}`)
    sessionStorage.removeItem(`ppa.notice.${ppaId}`)
    const notice = pending ? h('p', { class: 'notice', role: 'alert' }, pending) : null
    const printStatus = h('p', { class: 'muted print-status', role: 'status' })
    const [tools, stopPrint] = printTools(ppaId, {
      draft: !['esms', 'auditor'].includes(role) && !(ppa.locked || ['validated', 'superseded'].includes(ppa.status)),
      setStatus: (text) => { printStatus.textContent = text }
    })
    pageScope.add(stopPrint)
    // the person and her aidant have their own page, easy to read (views/person_view.js)
    const falcLink = ['person', 'aidant'].includes(role)
      ? h('p', { class: 'notice notice--falc' }, h('a', { href: `#/ppa/${encodeURIComponent(ppaId)}/moi`, class: 'btn btn--primary' },
        role === 'person' ? 'Mon projet, facile à lire' : `Le projet de ${person.first_names.split(/\s+/)[0]}, facile à lire`))
      : null

    const page = h('div', { class: 'editor-page' },
      h('div', { class: 'editor-head' },
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/' }, 'Accueil'), ' › ', personName(person)),
        h('h1', {}, ppa.title, h('span', { class: 'sr-only' }, ` — PPA de ${personName(person)}`)),
        badges, tools, printStatus),
      falcLink,
      h('div', { class: 'editor-head__bar' },
        saveState,
        h('div', { class: 'presence-wrap' }, h('span', { class: 'presence__label', 'aria-hidden': 'true' }, 'Présents :'), presenceList),
        h('div', { class: 'section-jump' }, h('label', { for: jumpId, class: 'sr-only' }, 'Aller à une partie du PPA'), jump),
        commentsButton,
        historyButton),
      steps.el,
      notice,
      banner,
      rightsNotice,
      toast,
      problemsSummary,
      h('div', { class: 'editor-layout' }, nav, formRoot, aside, commentsAside))
    root.append(page)

    // -- save state
    let wasOffline = false
    const paintSave = (state) => {
      saveState.dataset.state = state
      saveState.textContent = SAVE_LABELS[state] || state
      if (state === 'offline' && !wasOffline) announce(SAVE_LABELS.offline)
      else if (state === 'saved' && wasOffline) announce('Connexion rétablie : vos modifications sont enregistrées.')
      else if (state === 'closed') announce(SAVE_LABELS.closed)
      if (state === 'offline') wasOffline = true
      else if (state === 'saved' || state === 'readonly' || state === 'closed') wasOffline = false
    }
    pageScope.add(session.on('state', paintSave))
    paintSave(session.saveState)

    // -- presence list
    const describeField = (key) => {
      if (!key) return ''
      const wrapper = document.querySelector(`[data-field="${CSS.escape(key)}"]`)
      if (!wrapper) return ''
      const label = wrapper.querySelector('label, legend, .ro-label')?.textContent || ''
      const card = wrapper.closest('.card')?.querySelector('.card__title')?.textContent
      const sectionTitle = wrapper.closest('.ppa-section')?.querySelector('h2')?.textContent
      return [card || sectionTitle, label].filter(Boolean).join(' · ')
    }
    let knownOthers = new Map()
    const paintPresence = (others) => {
      const items = [h('li', { class: 'presence__me' },
        h('span', { class: 'dot', style: { background: presence.user.color }, 'aria-hidden': 'true' }),
        `${me.display_name} (vous)`)]
      const seen = new Map()
      for (const other of others) {
        if (seen.has(other.clientId)) continue
        seen.set(other.clientId, other.user.name)
        const where = describeField(other.field)
        items.push(h('li', { class: 'presence__other', dataset: { clientId: String(other.clientId) } },
          h('span', { class: 'dot', style: { background: other.user.color }, 'aria-hidden': 'true' }),
          other.user.name,
          where ? h('span', { class: 'presence__where' }, ` — ${where}`) : null))
      }
      replace(presenceList, ...items)
      for (const [id, name] of seen) if (!knownOthers.has(id)) announce(`${name} a rejoint le document.`)
      for (const [id, name] of knownOthers) if (!seen.has(id)) announce(`${name} a quitté le document.`)
      knownOthers = seen
    }
    pageScope.add(presence.onChange(paintPresence))
    paintPresence([])

    // -- notices
    let toastTimer = null
    const showToast = ({ code, message }) => {
      toast.dataset.code = code
      toast.textContent = message
      toast.classList.add('toast--visible')
      clearTimeout(toastTimer)
      toastTimer = setTimeout(() => toast.classList.remove('toast--visible'), 6000)
    }
    pageScope.add(session.on('notice', showToast))
    pageScope.add(session.on('closed', ({ code, reason: serverReason }) => {
      if (code === 4401) {
        clearSession()
        sessionStorage.setItem('ppa.flash', 'Votre session a expiré : reconnectez-vous.')
        location.hash = '#/connexion'
        return
      }
      reason = code === 4404
        ? 'Ce PPA n\'existe plus.'
        : `Vous n'avez plus accès à ce document${serverReason ? ` : ${serverReason}` : ''}.`
      mode = 'read'
      rightsNotice.hidden = true
      paintBanner()
      renderFormNow()
    }))
    // The cercle gave more rights than this connection has (server/collab/rights.py): a new
    // connection (the page opened again) gets them.
    pageScope.add(session.on('rights', (serverReason) => {
      replace(rightsNotice, `${serverReason} `, h('button', {
        type: 'button',
        class: 'btn',
        on: { click: () => reload() }
      }, 'Se reconnecter'))
      rightsNotice.hidden = false
    }))

    // -- problems
    const problemsOk = role && !['esms', 'auditor'].includes(role)
    const paintSummary = (list) => {
      problemsSummary.hidden = list.length === 0
      const { blocking, warnings } = bySeverity(list)
      const counts = [
        blocking.length ? `${blocking.length} bloquant${blocking.length > 1 ? 's' : ''}` : null,
        warnings.length ? `${warnings.length} à vérifier` : null
      ].filter(Boolean).join(', ')
      replace(problemsSummary,
        h('summary', {}, `Points à compléter avant validation (${counts})`),
        h('ul', {}, [...blocking, ...warnings].map((p) => h('li', { dataset: { severity: p.severity || 'bloquant' } }, h('button', {
          type: 'button',
          class: ['link', isBlocking(p) ? null : 'problem--warning'],
          on: {
            click: () => {
              // a closed section builds its fields when opened
              if (openSection(sectionOfProblem(p.path))) requestAnimationFrame(() => problems.focus(p.path))
              else problems.focus(p.path)
            }
          }
        }, problemText(p))))))
    }
    pageScope.add(problems.onChange(paintSummary))
    const paintStep = debounce(() => steps.paint(lifeStep(ppa, session.roots, problems.problems || [])), 300)
    pageScope.add(problems.onChange(() => paintStep()))
    session.doc.on('update', paintStep)
    pageScope.add(() => { paintStep.cancel(); session.doc.off('update', paintStep) })
    let problemsSeq = 0
    const refreshProblems = debounce(async () => {
      if (!problemsOk) return
      const mine = ++problemsSeq
      try {
        const list = await api(`/api/ppas/${encodeURIComponent(ppaId)}/problems`)
        if (mine === problemsSeq) problems.set(list)
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 0) console.warn('problems', error.message)
      }
    }, 700)
    pageScope.add(() => refreshProblems.cancel())
    problems.set(problemsOk ? ppa.problems || [] : [])
    pageScope.add(session.on('state', (state) => { if (state === 'saved') refreshProblems() }))
    const onRemote = (_update, origin) => { if (origin === session.provider) refreshProblems() }
    session.doc.on('update', onRemote)
    pageScope.add(() => session.doc.off('update', onRemote))

    // -- the form
    const ownOrigine = role === 'aidant' ? 'entourage' : 'personne'
    // An avenant changes actions and their modalités, and of an objective only its follow-up
    // (status, opinion, due date); never the besoins nor the period's start (versions refuses to
    // validate it otherwise, the server refuses such a write): those are read-only meanwhile.
    const avenant = ppa.status === 'avenant_draft'
    const frozen = new Set(avenant ? ['besoins', 'objectifs'] : [])
    const frozenField = (fieldKey) => {
      if (!avenant) return false
      const [root, id, key] = fieldKey.split('/')
      if (root === 'besoins') return true
      if (root === 'objectifs') return !AVENANT_OBJECTIF_FIELDS.has(key ?? '') || !id
      return fieldKey === 'projet/date_debut'
    }
    const undo = mountUndo({ doc: session.doc, roots: session.roots, canWrite: () => mode !== 'read' && !session.readOnlyReason })
    pageScope.add(() => undo.destroy())
    toast.after(undo.el)
    const ctx = {
      undoable: undo.undoable,
      doc: session.doc,
      roots: session.roots,
      session,
      presence,
      problems,
      serafin,
      memberOptions,
      peopleOptions,
      memberName,
      get mode () { return mode },
      canStructureOf: (section) => mode === 'edit' && !frozen.has(section),
      ownOrigine,
      canWrite: (fieldKey, extra) => {
        if (frozenField(fieldKey)) return false
        return mode === 'edit' || (mode === 'own' && ownFieldWritable(fieldKey, extra))
      },
      isFrozen: (section) => frozen.has(section),
      // after an await (a dialog), the document may have turned read-only (locked meanwhile)
      stillWritable: () => mode !== 'read' && !session.readOnlyReason
    }
    let formScope = null
    function renderFormNow () {
      if (!session.loaded) return
      const scrollY = window.scrollY
      const active = /** @type {HTMLElement | null | undefined} */ (document.activeElement?.closest?.('[data-field]'))?.dataset.field
      if (formScope) formScope.dispose()
      formScope = pageScope.child()
      replace(formRoot, ...renderForm(ctx, formScope))
      formRoot.setAttribute('aria-busy', 'false')
      formRoot.classList.toggle('ppa-form--readonly', mode === 'read')
      window.scrollTo(0, scrollY)
      if (active) /** @type {HTMLElement | null | undefined} */ (document.querySelector(`[data-field="${CSS.escape(active)}"]`)?.querySelector('input, textarea, select, button'))?.focus()
      presence.render()
    }
    if (session.loaded) renderFormNow()
    pageScope.add(session.on('loaded', renderFormNow))
    pageScope.add(session.on('loaded', () => paintStep()))
    if (session.loaded) paintStep()
    if (locked && me) {
      // edits typed offline on this device before the PPA was validated can no longer be stored
      const check = () => orphanedLocalEdits(me.id, ppaId, session.doc).then((orphaned) => {
        if (orphaned) banner.before(h('p', { class: 'notice', role: 'alert' }, 'Des modifications faites hors ligne sur cet appareil n\'ont pas pu être enregistrées : le PPA a été validé entre-temps.'))
      }).catch(() => {}).finally(() => { page.dataset.localCopy = 'checked' })
      if (session.loaded) check()
      else pageScope.add(session.on('loaded', check))
    }

    // -- a refused write (person/aidant outside their fields), or a lock that caught unsaved
    // changes: our replica diverged from the server for good; reopen on a fresh copy.
    let reopening = false
    const reload = (message) => {
      if (reopening) return
      reopening = true
      if (message) sessionStorage.setItem(`ppa.notice.${ppaId}`, message)
      window.dispatchEvent(new HashChangeEvent('hashchange'))
    }
    const reopen = async (message) => {
      if (reopening) return
      await session.discardLocalCopy()
      reload(message)
    }
    // A locked PPA reopens by itself when a coordinator opens an avenant elsewhere.
    if (locked) {
      const timer = setInterval(async () => {
        if (document.hidden || reopening) return
        try {
          const next = await api(`/api/ppas/${encodeURIComponent(ppaId)}`)
          if (!next.locked && next.status !== 'validated' && next.status !== 'superseded') {
            reload('Un avenant a été ouvert : le document est de nouveau modifiable (actions, modalités, planning).')
          }
        } catch { /* offline: try again later */ }
      }, 10000)
      pageScope.add(() => clearInterval(timer))
    }
    pageScope.add(session.on('refused', (serverReason) => {
      reopen(`${serverReason.replace(/ Rechargez la page pour continuer\.?$/, '')} Le document a été rechargé.`)
    }))

    // -- read-only / lock pushed by the server
    pageScope.add(session.on('readonly', async ({ reason: serverReason, locked: isLocked }) => {
      if (isLocked && session.unsaved) {
        reopen('Le PPA a été validé et verrouillé pendant que vous écriviez : le document affiché est celui enregistré sur le serveur, vérifiez vos dernières modifications.')
        return
      }
      const wasMode = mode
      mode = 'read'
      locked = locked || isLocked
      // a reader keeps the reason it opened with; a writer turned read-only (rights reduced by
      // a change of the cercle) shows the server's
      reason = isLocked ? lockedReasonFor(role) : wasMode === 'read' ? (reason || serverReason) : serverReason
      paintBanner()
      paintBadges()
      if (wasMode !== 'read') {
        renderFormNow()
        announce(reason)
      }
      try {
        ppa = await api(`/api/ppas/${encodeURIComponent(ppaId)}`)
        paintBadges()
        history?.refresh()
      } catch { /* keep what we have */ }
    }))

    // -- comments panel (one side panel open at a time)
    const closeComments = () => {
      commentsAside.hidden = true
      commentsButton?.setAttribute('aria-expanded', 'false')
    }
    if (commentsButton) {
      const comments = mountComments(commentsAside, {
        ppaId,
        role,
        me,
        doc: session.doc,
        formRoot,
        onCount: (n) => { commentsCount.textContent = n ? ` (${n})` : '' }
      })
      pageScope.add(() => comments.destroy())
      commentsButton.addEventListener('click', () => {
        const open = commentsAside.hidden
        commentsAside.hidden = !open
        commentsButton.setAttribute('aria-expanded', String(open))
        if (open) {
          aside.hidden = true
          historyButton.setAttribute('aria-expanded', 'false')
          comments.open()
          commentsAside.querySelector('h2')?.focus()
        }
      })
    }

    // -- history / validation / exports panel
    let history = null
    function showHistory () {
      closeComments()
      aside.hidden = false
      historyButton.setAttribute('aria-expanded', 'true')
      if (!history) {
        history = mountHistory(aside, {
          ppaId,
          getPpa: () => ppa,
          role,
          person,
          ctx,
          onPpaChanged: (next) => { ppa = next; paintBadges() },
          reload: (message) => reload(message)
        })
      }
      else history.refresh()
      aside.querySelector('h2')?.focus()
      return history
    }
    historyButton.addEventListener('click', () => {
      if (aside.hidden) showHistory()
      else {
        aside.hidden = true
        historyButton.setAttribute('aria-expanded', 'false')
      }
    })
    // a notification's link: open the history panel on the version or the comparison (a
    // failure is shown in the panel's status line)
    if (open) {
      const panel = showHistory()
      const shown = open.version ? panel.openVersion(open.version) : panel.showDiff(open.diff[0], open.diff[1])
      shown.catch(() => {})
    }
  }

  return () => {
    if (window.ppaCollab?.session === session) delete window.ppaCollab
    controller.abort()
    pageScope.dispose()
    if (presence) presence.destroy()
    if (session) session.destroy()
  }
}
