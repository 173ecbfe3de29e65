// A stock Yjs + y-websocket client, driven by the Python tests through JSON lines.
//
// stdin:  {"id": 1, "op": "connect", ...}      one command per line
// stdout: {"id": 1, "ok": true, "result": ...} one reply per command, and events
//         {"event": "close", "code": 4403, "reason": "..."}
//
// The provider is used exactly as the browser editor uses it:
//   new WebsocketProvider(serverUrl, ppaId, doc, { params: { token }, WebSocketPolyfill })
// The only addition is what the browser editor does to show "Enregistré": it peeks at the sync
// step 1 messages the server sends (they carry the durable state vector) without changing how
// the stock handler processes them.
import readline from 'node:readline'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'

const doc = new Y.Doc()
let provider = null
let durableStateVector = null
const warnings = []
const errors = []
// The document as it stood when the provider said 'synced' (the first sync step 2 applied),
// one entry per time it said so: what a script or a browser takes for "I hold the document".
const syncedStates = []

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

// Stock y-websocket reports permission-denied (AUTH) messages with console.warn and protocol
// trouble ("Unable to compute message") with console.error: record both.
console.warn = (...args) => { warnings.push(args.map(String).join(' ')); emit({ event: 'warn', text: args.map(String).join(' ') }) }
console.error = (...args) => { errors.push(args.map(String).join(' ')); emit({ event: 'error', text: args.map(String).join(' ') }) }
process.on('uncaughtException', (err) => { errors.push(String(err && err.stack)); emit({ event: 'uncaught', text: String(err && err.stack) }) })

const until = (predicate, timeoutMs, what) => new Promise((resolve, reject) => {
  const started = Date.now()
  const tick = () => {
    let value
    try { value = predicate() } catch (err) { reject(err); return }
    if (value) { resolve(value); return }
    if (Date.now() - started > timeoutMs) { reject(new Error('timeout waiting for ' + what)); return }
    setTimeout(tick, 5)
  }
  tick()
})

const localClock = () => Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) || 0

const saved = () => {
  if (durableStateVector === null) return false
  return (durableStateVector.get(doc.clientID) || 0) >= localClock()
}

const installAckPeek = (p) => {
  const stock = p.messageHandlers[0]
  p.messageHandlers[0] = (encoder, decoder, prov, emitSynced, messageType) => {
    const peek = decoding.clone(decoder)
    if (decoding.readVarUint(peek) === 0) {
      // sync step 1 from the server = the state vector of what is durably stored
      const received = Y.decodeStateVector(decoding.readVarUint8Array(peek))
      if (durableStateVector === null) durableStateVector = new Map()
      received.forEach((clock, client) => {
        durableStateVector.set(client, Math.max(clock, durableStateVector.get(client) || 0))
      })
    }
    stock(encoder, decoder, prov, emitSynced, messageType)
  }
}

const ops = {
  connect ({ url, room, token, peekAcks = true }) {
    if (provider === null) {
      provider = new WebsocketProvider(url, room, doc, {
        params: token === undefined ? {} : { token },
        WebSocketPolyfill: WebSocket,
        disableBc: true,
        maxBackoffTime: 200
      })
      if (peekAcks) installAckPeek(provider)
      provider.on('connection-close', (event) => {
        emit({ event: 'close', code: event ? event.code : null, reason: event ? String(event.reason) : null })
      })
      provider.on('status', ({ status }) => emit({ event: 'status', status }))
      provider.on('synced', (state) => {
        if (state) syncedStates.push(Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64'))
      })
    } else {
      provider.connect()
    }
    return null
  },
  disconnect () { provider.disconnect(); return null },
  async waitSynced ({ timeout = 10000 }) {
    await until(() => provider.synced, timeout, 'synced')
    return true
  },
  async waitSaved ({ timeout = 10000 }) {
    await until(saved, timeout, 'saved')
    return true
  },
  saved () { return saved() },
  insert ({ field = 't', index = 0, text }) { doc.getText(field).insert(index, text); return null },
  delete ({ field = 't', index, length }) { doc.getText(field).delete(index, length); return null },
  setMap ({ map = 'm', key, value }) { doc.getMap(map).set(key, value); return null },
  // PPA layout helpers: an item is a Y.Map whose free-text fields are Y.Text
  pushItem ({ root, item }) {
    const ymap = new Y.Map()
    for (const [key, value] of Object.entries(item)) {
      ymap.set(key, key === 'id' || typeof value !== 'string' ? value : new Y.Text(value))
    }
    doc.getArray(root).push([ymap])
    return null
  },
  // a free-text field of one item (by id), as the editor types in it
  itemInsert ({ root, item: id, key, index, text }) {
    const item = doc.getArray(root).toArray().find((m) => m instanceof Y.Map && m.get('id') === id)
    const ytext = item.get(key)
    ytext.insert(index === undefined ? ytext.length : index, text)
    return null
  },
  itemText ({ root, item: id, key }) {
    const item = doc.getArray(root).toArray().find((m) => m instanceof Y.Map && m.get('id') === id)
    return item ? String(item.get(key)) : null
  },
  async waitItemTextIncludes ({ root, item, key, value, timeout = 10000 }) {
    await until(() => (ops.itemText({ root, item, key }) || '').includes(value), timeout, 'item text includes')
    return ops.itemText({ root, item, key })
  },
  itemIds ({ root }) { return doc.getArray(root).toArray().map((m) => (m instanceof Y.Map ? m.get('id') ?? null : null)) },
  async waitItemIds ({ root, ids, timeout = 10000 }) {
    const same = () => JSON.stringify(ops.itemIds({ root })) === JSON.stringify(ids)
    await until(same, timeout, 'item ids of ' + root)
    return true
  },
  text ({ field = 't' }) { return doc.getText(field).toString() },
  map ({ map = 'm' }) { return doc.getMap(map).toJSON() },
  async waitText ({ field = 't', value, timeout = 10000 }) {
    await until(() => doc.getText(field).toString() === value, timeout, 'text ' + field)
    return true
  },
  async waitTextIncludes ({ field = 't', value, timeout = 10000 }) {
    await until(() => doc.getText(field).toString().includes(value), timeout, 'text includes')
    return doc.getText(field).toString()
  },
  syncedStates () { return syncedStates.slice() },
  state () { return Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64') },
  stateVector () { return Buffer.from(Y.encodeStateVector(doc)).toString('base64') },
  clientId () { return doc.clientID },
  setAwareness ({ state }) { provider.awareness.setLocalState(state); return null },
  awareness () {
    const out = {}
    provider.awareness.getStates().forEach((state, client) => { out[client] = state })
    return out
  },
  async waitAwareness ({ count, timeout = 10000 }) {
    await until(() => provider.awareness.getStates().size === count, timeout, 'awareness count')
    return true
  },
  warnings () { return warnings.slice() },
  errors () { return errors.slice() },
  async sleep ({ ms }) { await new Promise((resolve) => setTimeout(resolve, ms)); return null },
  exit () {
    if (provider !== null) provider.destroy()
    setTimeout(() => process.exit(0), 10)
    return null
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let command
  try { command = JSON.parse(line) } catch { return }
  const { id, op, ...args } = command
  try {
    const result = await ops[op](args)
    emit({ id, ok: true, result: result === undefined ? null : result })
  } catch (err) {
    emit({ id, ok: false, error: String(err && err.message) })
  }
})
rl.on('close', () => { if (provider !== null) provider.destroy(); process.exit(0) })
