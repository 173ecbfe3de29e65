// A real OpenID provider (oidc-provider, OpenID Certified) on loopback, shaped like Pro Santé
// Connect, for the relying party's tests (tests/server/oidc/).
//
//   node oidc_provider.mjs CONFIG.json
//
// CONFIG: {"clients": [client metadata...], "accounts": {"<sub>": {claims...}},
//          "acr_values": ["eidas1", ...], "scope_claims": {"scope_all": ["SubjectNameID", ...]},
//          "tls": {"key": "key.pem", "cert": "cert.pem"} (optional: https)}
// stdout: one line {"issuer": "http(s)://127.0.0.1:<port>"} once it listens.
//
// What a person does at PSC (e-CPS or CPS card) is a form here: /interaction/<uid> asks for the
// account (its `sub`) and the authentication level (`acr`); consent is given at once. The
// provider's own behaviour (codes, PKCE, tokens, userinfo as JSON or JWT, RP-initiated logout)
// is oidc-provider's, untouched. Test-only controls, under /__test__/:
//   POST /__test__/rotate          sign with a new key from now on (the old one stays published)
//   POST /__test__/tamper {mode}   the next ID token is rewritten: wrong_aud, wrong_nonce,
//                                  expired, alg_none, unknown_key (what a faulty or hostile
//                                  provider would send, which this one never does by itself)
import http from 'node:http'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import Provider from 'oidc-provider'
import * as jose from 'jose'

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const keys = [] // private JWKs, the signing one first
let tamper = null
let handler = null

async function newKey (kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true })
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' }
}

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page (title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`
}

function loginForm (uid, requestedAcr, error) {
  const acrs = config.acr_values.map((acr) =>
    `<option value="${escape(acr)}"${acr === requestedAcr ? ' selected' : ''}>${escape(acr)}</option>`).join('')
  return page('Pro Santé Connect (test)', `
    ${error ? `<p role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${escape(uid)}/login">
      <label for="login">Compte</label><input id="login" name="login" autofocus>
      <label for="acr">Niveau</label><select id="acr" name="acr">${acrs}</select>
      <button type="submit">Valider</button>
    </form>`)
}

async function readForm (req) {
  let body = ''
  for await (const chunk of req) body += chunk
  return Object.fromEntries(new URLSearchParams(body))
}

async function consent (provider, req, res, details) {
  const { prompt: { details: missing }, params, session } = details
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id })
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
  const grantId = await grant.save()
  const result = { consent: details.grantId ? {} : { grantId } }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true })
}

async function interaction (provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res)
  if (details.prompt.name === 'consent') return consent(provider, req, res, details)
  const requestedAcr = (details.params.acr_values || '').split(' ')[0] || config.acr_values[0]
  if (action !== 'login' || req.method !== 'POST') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    return res.end(loginForm(uid, requestedAcr))
  }
  const form = await readForm(req)
  if (!Object.hasOwn(config.accounts, form.login) || !config.acr_values.includes(form.acr)) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    return res.end(loginForm(uid, requestedAcr, 'Compte ou niveau inconnu.'))
  }
  const login = { accountId: form.login, acr: form.acr, amr: ['pin'], remember: true }
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false })
}

async function craft (idToken, mode) {
  const claims = jose.decodeJwt(idToken)
  const header = jose.decodeProtectedHeader(idToken)
  const now = Math.floor(Date.now() / 1000)
  let key = keys[0]
  if (mode === 'wrong_aud') claims.aud = 'un-autre-service'
  else if (mode === 'wrong_nonce') claims.nonce = 'nonce-d-une-autre-connexion'
  else if (mode === 'expired') Object.assign(claims, { iat: now - 1200, exp: now - 600 })
  else if (mode === 'unknown_key') key = await newKey('cle-inconnue')
  else if (mode === 'alg_none') {
    const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
    return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`
  } else throw new Error(`unknown tamper mode ${mode}`)
  const signing = await jose.importJWK(key, 'RS256')
  return new jose.SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256', kid: key.kid }).sign(signing)
}

function makeProvider (issuer) {
  const accounts = config.accounts
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys },
    acrValues: config.acr_values,
    scopes: ['openid', ...Object.keys(config.scope_claims)],
    claims: { openid: ['sub'], ...config.scope_claims },
    cookies: { keys: ['ppa-collab-test-op-cookies'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // A real provider logs out at once with a valid id_token_hint; this one too (the form
        // oidc-provider renders is submitted by the page itself).
        logoutSource: async (ctx, form) => {
          ctx.body = page('Déconnexion', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button><script>document.forms[0].requestSubmit(document.querySelector('button'))</script>`)
        }
      }
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (ctx, sub) => {
      if (!Object.hasOwn(accounts, sub)) return undefined
      return { accountId: sub, claims: () => ({ sub, ...accounts[sub] }) }
    },
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, IdToken: 300, AccessToken: 300 },
    renderError: (ctx, out) => {
      ctx.type = 'html'
      ctx.body = page('Erreur', `<pre>${escape(JSON.stringify(out))}</pre>`)
    }
  })
  provider.use(async (ctx, next) => {
    await next()
    if (tamper && ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
      const mode = tamper
      tamper = null
      ctx.body = { ...ctx.body, id_token: await craft(ctx.body.id_token, mode) }
    }
  })
  return provider
}

async function control (req, res, issuer) {
  const path = req.url.split('?')[0]
  if (req.method === 'POST' && path === '/__test__/rotate') {
    keys.unshift(await newKey(randomUUID()))
    handler = buildHandler(issuer)
    res.writeHead(200, { 'Content-Type': 'application/json' })
    return res.end(JSON.stringify({ kid: keys[0].kid }))
  }
  if (req.method === 'POST' && path === '/__test__/tamper') {
    let body = ''
    for await (const chunk of req) body += chunk
    tamper = JSON.parse(body).mode
    res.writeHead(204)
    return res.end()
  }
  res.writeHead(404)
  res.end()
}

function buildHandler (issuer) {
  const provider = makeProvider(issuer)
  provider.on('server_error', (ctx, error) => process.stderr.write(`server_error ${error.stack}\n`))
  const callback = provider.callback()
  return async (req, res) => {
    const match = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url)
    if (match) return interaction(provider, req, res, match[1], match[2])
    return callback(req, res)
  }
}

keys.push(await newKey(randomUUID()))
const scheme = config.tls ? 'https' : 'http'
const onRequest = (req, res) => {
  const issuer = `${scheme}://127.0.0.1:${server.address().port}`
  const done = req.url.startsWith('/__test__/') ? control(req, res, issuer) : handler(req, res)
  Promise.resolve(done).catch((error) => {
    process.stderr.write(`${error.stack}\n`)
    if (!res.headersSent) res.writeHead(500)
    res.end()
  })
}
const server = config.tls
  ? https.createServer({ key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert) }, onRequest)
  : http.createServer(onRequest)
server.listen(0, '127.0.0.1', () => {
  const issuer = `${scheme}://127.0.0.1:${server.address().port}`
  handler = buildHandler(issuer)
  process.stdout.write(JSON.stringify({ issuer }) + '\n')
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
