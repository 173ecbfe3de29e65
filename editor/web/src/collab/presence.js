// Presence (y-websocket awareness): who is in the document, which field each one is in
// (colored outline + name on the field), caret and selection in text fields.
//
// Local awareness state: { user: {id, name, color}, field: "objectifs/<id>/description" | null,
//                          cursor: {field, anchor, head} | null }   (anchor/head: Yjs relative
// positions as JSON, so they stay on the right characters while others type).
import * as Y from 'yjs'

// Dark enough for white text (contrast >= 4.5:1) and for a 3:1 outline on white.
const PALETTE = ['#b3261e', '#1b5e20', '#0d47a1', '#6a1b9a', '#8a4500', '#00695c', '#ad1457', '#37474f']

/**
 * A person's color (the same on every device), from their id.
 * @param {string} id
 * @returns {string} a CSS color
 */
export function colorFor (id) {
  let hash = 0
  for (const ch of String(id)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0
  return PALETTE[hash % PALETTE.length]
}

/**
 * A remote user's awareness state (see the top of this file), with its client id.
 * @typedef {object} RemoteUser
 * @property {number} clientId
 * @property {{id: string, name: string, color: string}} user
 * @property {string | null} field the field they are in ("root/id/key")
 * @property {{field: string, anchor: object, head: object} | null} cursor
 */

export class Presence {
  /**
   * @param {import('./session.js').CollabSession} session
   * @param {{id: string, display_name: string}} user the signed-in user
   */
  constructor (session, user) {
    this.session = session
    this.user = { id: user.id, name: user.display_name, color: colorFor(user.id) }
    this.fields = new Map() // fieldKey -> Set<{wrapper, tags}>
    this.texts = new Map() // fieldKey -> Set<text binding>
    this.listeners = new Set()
    this.localField = null
    this.awareness = null
    this._onChange = () => this.render()
    const attach = (provider) => {
      this.awareness = provider.awareness
      this.awareness.setLocalState({ user: this.user, field: null, cursor: null })
      this.awareness.on('change', this._onChange)
      this.render()
    }
    if (session.provider) attach(session.provider)
    this.offProvider = session.on('provider', attach)
    this.offState = session.on('state', () => this.render())
  }

  /**
   * Call `fn` with the remote users whenever presence changes, until the returned function is called.
   * @param {(others: RemoteUser[]) => void} fn
   * @returns {() => void}
   */
  onChange (fn) {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** @param {string | null} fieldKey the field the local user is in (null: none) */
  setField (fieldKey) {
    this.localField = fieldKey
    if (!this.awareness) return
    const current = this.awareness.getLocalState() || {}
    const cursor = current.cursor && current.cursor.field === fieldKey ? current.cursor : null
    this.awareness.setLocalState({ ...current, user: this.user, field: fieldKey, cursor })
  }

  /** @param {string} fieldKey a field the local user left */
  clearField (fieldKey) {
    if (this.localField !== fieldKey) return
    this.setField(null)
  }

  /**
   * The local caret and selection in a text field.
   * @param {string} fieldKey
   * @param {Y.Text} ytext
   * @param {number} anchor
   * @param {number} head
   */
  setCursor (fieldKey, ytext, anchor, head) {
    if (!this.awareness || !ytext) return
    const current = this.awareness.getLocalState() || {}
    const cursor = {
      field: fieldKey,
      anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, anchor)),
      head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, head))
    }
    this.awareness.setLocalState({ ...current, user: this.user, field: fieldKey, cursor })
  }

  /**
   * Remote users present (connected), with the field they are in.
   * @returns {RemoteUser[]}
   */
  others () {
    if (!this.awareness || !this.session.connected) return []
    const out = []
    for (const [clientId, state] of this.awareness.getStates()) {
      if (clientId === this.session.doc.clientID || !state || !state.user) continue
      out.push({ clientId, ...state })
    }
    return out
  }

  /**
   * Outline `wrapper` and name who is in `fieldKey`, until the returned function is called.
   * @param {string} fieldKey
   * @param {HTMLElement} wrapper
   * @returns {() => void}
   */
  registerField (fieldKey, wrapper) {
    if (!this.fields.has(fieldKey)) this.fields.set(fieldKey, new Set())
    const entry = { wrapper }
    this.fields.get(fieldKey).add(entry)
    this._paintField(entry, this._usersIn(fieldKey))
    return () => this.fields.get(fieldKey)?.delete(entry)
  }

  /**
   * Draw remote carets in a bound text field, until the returned function is called.
   * @param {string} fieldKey
   * @param {import('./text.js').TextBinding} binding
   * @returns {() => void}
   */
  registerText (fieldKey, binding) {
    if (!this.texts.has(fieldKey)) this.texts.set(fieldKey, new Set())
    this.texts.get(fieldKey).add(binding)
    binding.renderRemote(this._cursorsIn(fieldKey, binding.ytext))
    return () => this.texts.get(fieldKey)?.delete(binding)
  }

  /**
   * @param {string} fieldKey
   * @param {import('./text.js').TextBinding} binding
   */
  refreshText (fieldKey, binding) {
    binding.renderRemote(this._cursorsIn(fieldKey, binding.ytext))
  }

  _usersIn (fieldKey) {
    return this.others().filter((s) => s.field === fieldKey)
  }

  _cursorsIn (fieldKey, ytext) {
    if (!ytext) return []
    const doc = this.session.doc
    const cursors = []
    for (const state of this._usersIn(fieldKey)) {
      const cursor = state.cursor
      if (!cursor || cursor.field !== fieldKey) continue
      try {
        const anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.anchor), doc)
        const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.head), doc)
        if (!anchor || !head || anchor.type !== ytext || head.type !== ytext) continue
        cursors.push({ name: state.user.name, color: state.user.color, anchor: anchor.index, head: head.index })
      } catch {
        // a position in content we do not have yet
      }
    }
    return cursors
  }

  _paintField (entry, users) {
    const { wrapper } = entry
    const signature = users.map((u) => `${u.clientId}:${u.user.name}:${u.user.color}`).join('|')
    if (entry.signature === signature) return
    entry.signature = signature
    if (entry.tags) entry.tags.remove()
    entry.tags = null
    if (users.length === 0) {
      wrapper.classList.remove('has-remote')
      wrapper.style.removeProperty('--remote-color')
      return
    }
    wrapper.classList.add('has-remote')
    wrapper.style.setProperty('--remote-color', users[0].user.color)
    const tags = document.createElement('span')
    tags.className = 'remote-tags'
    tags.setAttribute('aria-hidden', 'true') // the presence list says it for screen readers
    for (const u of users) {
      const tag = document.createElement('span')
      tag.className = 'remote-tag'
      tag.style.background = u.user.color
      tag.textContent = u.user.name
      tags.append(tag)
    }
    entry.tags = tags
    wrapper.prepend(tags)
  }

  render () {
    for (const [fieldKey, entries] of this.fields) {
      const users = this._usersIn(fieldKey)
      for (const entry of entries) this._paintField(entry, users)
    }
    for (const [fieldKey, bindings] of this.texts) {
      for (const binding of bindings) binding.renderRemote(this._cursorsIn(fieldKey, binding.ytext))
    }
    for (const fn of this.listeners) fn(this.others())
  }

  destroy () {
    this.offProvider()
    this.offState()
    if (this.awareness) this.awareness.off('change', this._onChange)
    this.fields.clear()
    this.texts.clear()
    this.listeners.clear()
  }
}
