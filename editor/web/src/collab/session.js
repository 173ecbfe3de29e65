// One collaborative session on a PPA document: Yjs doc + y-websocket provider + IndexedDB.
//
// Save state ("Enregistré" only once the server has durably stored the user's edits):
// the server answers a sync step 1 with its sync step 2 only once everything it accepted
// before that step 1 on the same connection is committed (editor/collab/room.py). So after local
// edits have been transmitted, the session sends a sync step 1 of its own (a "barrier"); when
// the step 2 answering it arrives, every edit transmitted before it is durable. This also covers
// deletions, which do not move Yjs state vectors (so the durable state vector the server sends as
// a sync step 1 after each commit cannot acknowledge them on its own); that state vector is still
// read to know when the first server step 1 of a connection (which our offline edits answer)
// has been handled.
//
// Notices: the server sends an AUTH "permission denied" message whose reason is a notice, a code
// and a French message (./notices.js): read-only role, document locked by validation, rights
// reduced by a change of the cercle, a write corrected by the schema guard or refused, more rights
// for a new connection. The session decides on the code; the message is shown as it is.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence, clearDocument } from 'y-indexeddb'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import { noticeAction, parseNotice } from './notices.js'

export const SAVE_LABELS = {
  connecting: 'Connexion…',
  syncing: 'Synchronisation…',
  saving: 'Enregistrement…',
  saved: 'Enregistré',
  offline: 'Hors ligne - vos modifications seront envoyées',
  readonly: 'Lecture seule',
  closed: 'Déconnecté'
}

const IDB_LIST_KEY = 'ppa.idb'

/**
 * Getters of every root (docs/document-schema.md §1): always the same getter per root.
 * @param {Y.Doc} doc
 */
export function roots (doc) {
  return {
    projet: doc.getMap('projet'),
    projet_de_vie: doc.getText('projet_de_vie'),
    attentes: doc.getArray('attentes'),
    besoins: doc.getArray('besoins'),
    objectifs: doc.getArray('objectifs'),
    actions: doc.getArray('actions'),
    moyens: doc.getArray('moyens'),
    bilan: doc.getMap('bilan'),
    accords: doc.getArray('accords')
  }
}

/**
 * @param {string} userId
 * @param {string} name an IndexedDB database of this user's
 */
function rememberDb (userId, name) {
  const all = JSON.parse(localStorage.getItem(IDB_LIST_KEY) || '{}')
  const mine = new Set(all[userId] || [])
  mine.add(name)
  all[userId] = [...mine]
  localStorage.setItem(IDB_LIST_KEY, JSON.stringify(all))
}

/**
 * Delete this user's local copies (logout on a shared computer).
 * @param {string} userId
 * @returns {Promise<void>}
 */
export async function forgetLocalCopies (userId) {
  const all = JSON.parse(localStorage.getItem(IDB_LIST_KEY) || '{}')
  for (const name of all[userId] || []) {
    try { await clearDocument(name) } catch { /* already gone */ }
  }
  delete all[userId]
  localStorage.setItem(IDB_LIST_KEY, JSON.stringify(all))
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(`ppa.unsent.${userId}.`)) localStorage.removeItem(key)
  }
}

/** localStorage key marking that this device holds edits of a PPA the server has not yet
 * confirmed as stored (set while "Enregistrement…" / offline, cleared at "Enregistré"). */
const unsentKey = (userId, ppaId) => `ppa.unsent.${userId}.${ppaId}`

/**
 * Whether this device holds edits of a PPA that never reached the server (typed offline, then the
 * PPA was locked by a validation before they could be sent): only when the session had edits the
 * server never confirmed (a saved edit later taken out of the document, e.g. by an abandoned
 * avenant, is not one), and the local copy's state vector has updates the server's document
 * lacks. The local copy is then deleted (it can never be stored).
 * @param {string} userId
 * @param {string} ppaId
 * @param {Y.Doc} serverDoc the document as the server sent it
 * @returns {Promise<boolean>}
 */
export async function orphanedLocalEdits (userId, ppaId, serverDoc) {
  const name = `ppa-collab:${userId}:${ppaId}`
  const unsent = localStorage.getItem(unsentKey(userId, ppaId)) !== null
  localStorage.removeItem(unsentKey(userId, ppaId))
  if (!indexedDB.databases) return false
  const known = await indexedDB.databases()
  if (!known.some((d) => d.name === name)) return false
  if (!unsent) {
    await clearDocument(name)
    return false
  }
  const scratch = new Y.Doc()
  const copy = new IndexeddbPersistence(name, scratch)
  await copy.whenSynced
  const server = Y.decodeStateVector(Y.encodeStateVector(serverDoc))
  let orphaned = false
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(scratch))) {
    if ((server.get(client) || 0) < clock) orphaned = true
  }
  await copy.destroy()
  scratch.destroy()
  await clearDocument(name)
  return orphaned
}

/**
 * Events of a session (on(name, fn)) and the arguments `fn` gets.
 * @typedef {object} SessionEvents
 * @property {[state: keyof typeof SAVE_LABELS]} state the save state changed
 * @property {[]} loaded the document has content to show (server sync or local copy)
 * @property {[provider: WebsocketProvider]} provider a connection to the server was set up
 * @property {[notice: {code: string, message: string}]} notice a notice to show, nothing else changes
 * @property {[change: {reason: string, locked: boolean}]} readonly the connection turned read-only
 * @property {[message: string]} rights a new connection gets more rights
 * @property {[message: string]} refused a write was refused: the replica diverged for good
 * @property {[closed: {code: number, reason: string}]} closed the server refused us for good
 */

export class CollabSession {
  /**
   * @param {{ppaId: string, user: {id: string, display_name: string}, persist: boolean, readOnly?: string|null}} opts
   */
  constructor ({ ppaId, user, persist, readOnly = null }) {
    this.ppaId = ppaId
    this.user = user
    this.doc = new Y.Doc()
    this.roots = roots(this.doc)
    this.listeners = new Map()
    this.readOnlyReason = readOnly
    this.locked = false
    this.everConnected = false
    this.loaded = false // the document has content to show (server sync or local copy)
    this.closed = null // {code, reason} when the server refused us for good
    this.rightsChanged = null // the server's notice when reconnecting gives more rights
    // save-state bookkeeping
    this.localSeq = 0 // local updates so far
    this.transmittedSeq = 0 // local updates sent on the current connection
    this.durableSeq = 0 // local updates known durable
    this.ready = false // first server step 1 of this connection handled
    this.pendingStep1 = [] // FIFO of step 1 we sent: barrier seq or null (provider's own)
    this.barrierTimer = null
    this.provider = null
    this.idb = null
    this.unsentKey = persist ? unsentKey(user.id, ppaId) : null
    this.unsentMarked = false

    this._onUpdate = (update, origin) => {
      if (origin === this.provider) return // from the server: durable by construction
      this.localSeq += 1
      if (this.provider?.wsconnected && this.ready) {
        this.transmittedSeq = this.localSeq
        this._scheduleBarrier()
      }
      this._emitState()
    }
    this.doc.on('update', this._onUpdate)

    const start = () => {
      if (this.destroyed) return
      this._connect()
    }
    if (persist) {
      const name = `ppa-collab:${user.id}:${ppaId}`
      rememberDb(user.id, name)
      this.idb = new IndexeddbPersistence(name, this.doc)
      const timeout = new Promise((resolve) => setTimeout(resolve, 3000))
      Promise.race([this.idb.whenSynced, timeout]).then(() => {
        if (this.destroyed) return
        if (this.hasContent()) this._setLoaded()
        start()
      })
    } else {
      start()
    }
    this._online = () => { if (this.provider && !this.closed) this.provider.connect() }
    this._offline = () => { if (this.provider) this.provider.disconnect() ; this._emitState() }
    window.addEventListener('online', this._online)
    window.addEventListener('offline', this._offline)
  }

  /**
   * Call `fn` on each `name` event until the returned function is called.
   * @template {keyof SessionEvents} K
   * @param {K} name
   * @param {(...args: SessionEvents[K]) => void} fn
   * @returns {() => void}
   */
  on (name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set())
    this.listeners.get(name).add(fn)
    return () => this.listeners.get(name)?.delete(fn)
  }

  /**
   * @template {keyof SessionEvents} K
   * @param {K} name
   * @param {SessionEvents[K]} args
   */
  emit (name, ...args) {
    for (const fn of this.listeners.get(name) || []) {
      try { fn(...args) } catch (error) { console.error(error) }
    }
  }

  hasContent () {
    return this.doc.share.size > 0 && Y.encodeStateVector(this.doc).length > 1
  }

  get awareness () {
    return this.provider?.awareness ?? null
  }

  get connected () {
    return Boolean(this.provider?.wsconnected)
  }

  get saveState () {
    if (this.closed) return 'closed'
    if (this.readOnlyReason) return 'readonly'
    if (!this.provider || !this.provider.wsconnected) return this.everConnected || !navigator.onLine ? 'offline' : 'connecting'
    if (!this.ready) return 'syncing'
    return this.durableSeq >= this.localSeq ? 'saved' : 'saving'
  }

  /** Resolves once the local copy (IndexedDB) holds every change made so far: IndexedDB runs
   * transactions on the same store in order, so a read after the pending writes waits for them.
   * @returns {Promise<boolean>} false when there is no local copy (or it failed)
   */
  whenStoredLocally () {
    const db = this.idb?.db
    if (!db) return Promise.resolve(false)
    return new Promise((resolve) => {
      const tx = db.transaction(['updates'], 'readonly')
      tx.objectStore('updates').count()
      tx.oncomplete = () => resolve(true)
      tx.onerror = () => resolve(false)
      tx.onabort = () => resolve(false)
    })
  }

  /** Resolves once every local change made so far has been answered by the server
   * (durably stored, or refused when the connection is read-only).
   * @param {number} [timeoutMs] resolve to false after this long (0: wait for ever)
   * @returns {Promise<boolean>}
   */
  whenFlushed (timeoutMs = 0) {
    const target = this.localSeq
    if (this.durableSeq >= target) return Promise.resolve(true)
    return new Promise((resolve) => {
      this.flushWaiters = this.flushWaiters || []
      const waiter = { target, resolve: () => resolve(true) }
      this.flushWaiters.push(waiter)
      if (timeoutMs > 0) {
        setTimeout(() => {
          this.flushWaiters = (this.flushWaiters || []).filter((w) => w !== waiter)
          resolve(false)
        }, timeoutMs)
      }
    })
  }

  _emitState () {
    if (this.flushWaiters?.length) {
      this.flushWaiters = this.flushWaiters.filter((w) => {
        if (this.durableSeq >= w.target) { w.resolve(); return false }
        return true
      })
    }
    const unsent = this.localSeq > this.durableSeq
    if (this.unsentKey && unsent !== this.unsentMarked) {
      this.unsentMarked = unsent
      if (unsent) localStorage.setItem(this.unsentKey, '1')
      else localStorage.removeItem(this.unsentKey)
    }
    const state = this.saveState
    if (state !== this._lastState) {
      this._lastState = state
      this.emit('state', state)
    }
  }

  _setLoaded () {
    if (!this.loaded) {
      this.loaded = true
      this.emit('loaded')
    }
  }

  _connect () {
    // Authenticated by the session cookie the browser sends with the handshake (and its Origin,
    // which the server checks): no token in the URL.
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    const provider = new WebsocketProvider(`${scheme}://${location.host}/ws/ppa`, this.ppaId, this.doc, {
      disableBc: true, // every tab talks to the server: nothing unsaved crosses tabs unseen
      connect: false,
      maxBackoffTime: 2500
    })
    this.provider = provider
    const sync = provider.messageHandlers[0]
    provider.messageHandlers[0] = (encoder, decoder, prov, emitSynced, messageType) => {
      const peek = decoding.clone(decoder)
      const kind = decoding.readVarUint(peek)
      sync(encoder, decoder, prov, emitSynced, messageType)
      if (kind === syncProtocol.messageYjsSyncStep1) {
        // The server's durable state vector; our step 2 answering it (written into `encoder`,
        // sent right after this handler) carries everything local the server lacks.
        this.transmittedSeq = this.localSeq
        if (!this.ready) {
          this.ready = true
        }
        this._scheduleBarrier(0)
      } else if (kind === syncProtocol.messageYjsSyncStep2) {
        const seq = this.pendingStep1.shift()
        if (typeof seq === 'number' && seq > this.durableSeq) this.durableSeq = seq
        this._setLoaded()
      }
      this._emitState()
    }
    provider.messageHandlers[2] = (_encoder, decoder) => {
      const kind = decoding.readVarUint(decoder)
      if (kind !== 0) return
      this._onNotice(parseNotice(decoding.readVarString(decoder)))
    }
    provider.on('status', ({ status }) => {
      if (status === 'connected') {
        this.everConnected = true
        this.ready = false
        this.pendingStep1 = [null] // the provider sends its own step 1 on open
      } else if (status === 'disconnected') {
        this.ready = false
        this.pendingStep1 = []
      }
      this._emitState()
    })
    provider.on('connection-close', (event) => {
      const code = event?.code
      if (code === 4401 || code === 4403 || code === 4404) {
        this.closed = { code, reason: event.reason || '' }
        provider.shouldConnect = false
        this.emit('closed', this.closed)
      }
      this._emitState()
    })
    // y-websocket drops a connection that received nothing for 30 s, and the server does not
    // echo our own presence: alone in a document we would reconnect every 30 s. A sync step 1
    // every 10 s of silence gets an answer (counted in the FIFO, so it is never taken for a
    // barrier's answer).
    this.keepalive = setInterval(() => {
      const ws = provider.ws
      if (!ws || ws.readyState !== WebSocket.OPEN || !this.ready) return
      if (Date.now() - provider.wsLastMessageReceived < 10000) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, 0)
      syncProtocol.writeSyncStep1(encoder, this.doc)
      this.pendingStep1.push(null)
      ws.send(encoding.toUint8Array(encoder))
    }, 5000)
    if (navigator.onLine) provider.connect()
    this.emit('provider', provider)
    this._emitState()
  }

  _scheduleBarrier (delay = 60) {
    if (this.barrierTimer !== null) return
    this.barrierTimer = setTimeout(() => {
      this.barrierTimer = null
      this._sendBarrier()
    }, delay)
  }

  _sendBarrier () {
    const ws = this.provider?.ws
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.ready) return
    const outstanding = this.pendingStep1.filter((s) => typeof s === 'number')
    const highest = outstanding.length ? Math.max(...outstanding) : this.durableSeq
    if (this.transmittedSeq <= highest) return
    if (outstanding.length) {
      // one barrier in flight at a time: send the next when it is answered
      this._scheduleBarrier(120)
      return
    }
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0) // messageSync
    syncProtocol.writeSyncStep1(encoder, this.doc)
    this.pendingStep1.push(this.transmittedSeq)
    ws.send(encoding.toUint8Array(encoder))
  }

  /** Act on a server notice by its code (./notices.js). */
  _onNotice ({ code, message }) {
    const action = noticeAction(code)
    if (action === 'readonly' || action === 'locked') {
      this.setReadOnly(message, action === 'locked')
    } else if (action === 'rights') {
      // the cercle gave us more rights than this connection has; a new connection gets them
      this.rightsChanged = message
      this.emit('rights', message)
    } else if (action === 'refused') {
      // The write was refused and the connection turned read-only: our replica holds changes
      // the server will never take; the editor reopens on a fresh copy.
      this.setReadOnly(message, false)
      this.emit('refused', message)
    } else {
      this.emit('notice', { code, message })
    }
  }

  /**
   * Turn this session read-only (the server said so), for `reason`.
   * @param {string} reason French message
   * @param {boolean} [locked] the PPA was locked (validated)
   */
  setReadOnly (reason, locked = false) {
    const changed = this.readOnlyReason !== reason || this.locked !== locked
    this.readOnlyReason = reason
    this.locked = this.locked || locked
    if (changed) this.emit('readonly', { reason, locked: this.locked })
    this._emitState()
  }

  /** Local changes the server has not acknowledged. */
  get unsaved () {
    return this.localSeq > this.durableSeq
  }

  /**
   * Forget this device's copy (changes the server refused or can no longer accept).
   * @returns {Promise<void>}
   */
  async discardLocalCopy () {
    if (this.unsentKey) localStorage.removeItem(this.unsentKey)
    this.unsentKey = null
    if (!this.idb) return
    const name = this.idb.name
    try { await this.idb.destroy() } catch { /* closed already */ }
    this.idb = null
    try { await clearDocument(name) } catch { /* nothing stored */ }
  }

  /** @param {() => void} fn */
  transact (fn) {
    this.doc.transact(fn)
  }

  destroy () {
    this.destroyed = true
    window.removeEventListener('online', this._online)
    window.removeEventListener('offline', this._offline)
    clearTimeout(this.barrierTimer)
    clearInterval(this.keepalive)
    this.doc.off('update', this._onUpdate)
    if (this.provider) {
      this.provider.awareness.setLocalState(null)
      this.provider.destroy()
    }
    if (this.idb) this.idb.destroy()
    this.doc.destroy()
    this.listeners.clear()
  }
}
