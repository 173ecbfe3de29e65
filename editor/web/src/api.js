// REST client: the session cookie (sent by the browser, unreadable here) and its CSRF token on
// every change, JSON, French errors ({error, detail, problems}) as ApiError.
import { clearSession, getCsrfToken, isLoggedIn } from './auth.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A refused or failed request: HTTP status (0: network), error code, French message. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code the server's `error` (or NetworkError, HttpError)
   * @param {string} [detail] French message
   * @param {Array<{path: string, code: string, message: string}>} [problems] validation problems
   */
  constructor (status, code, detail, problems = []) {
    super(detail || `Erreur ${status}`)
    this.status = status
    this.code = code
    this.problems = problems
  }
}

let onUnauthenticated = () => {}
/** @param {() => void} fn called when an authenticated request gets a 401 */
export function setUnauthenticatedHandler (fn) {
  onUnauthenticated = fn
}

/**
 * Options of api().
 * @typedef {object} ApiOptions
 * @property {string} [method] HTTP method (GET)
 * @property {unknown} [json] body, sent as JSON
 * @property {URLSearchParams} [form] body, sent form-encoded
 * @property {boolean} [raw] resolve to the Response itself
 * @property {AbortSignal} [signal]
 */

/**
 * api('/api/ppas/1') -> parsed JSON. Options: method, json (body), form (URLSearchParams),
 * raw (return the Response), signal.
 * @param {string} path
 * @param {ApiOptions} [options]
 * @returns {Promise<any>} the parsed JSON (null for 204), or the Response when `raw`
 */
export async function api (path, { method = 'GET', json, form, raw = false, signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' }
  const csrf = getCsrfToken()
  if (csrf && !SAFE_METHODS.has(method.toUpperCase())) headers['X-CSRF-Token'] = csrf
  const loggedIn = isLoggedIn()
  let body
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  } else if (form !== undefined) {
    body = form
  }
  let response
  try {
    response = await fetch(path, { method, headers, body, signal, credentials: 'same-origin' })
  } catch (error) {
    if (error.name === 'AbortError') throw error
    throw new ApiError(0, 'NetworkError', 'Serveur injoignable : vérifiez votre connexion.')
  }
  if (response.status === 401 && loggedIn && path !== '/api/auth/login') {
    clearSession()
    onUnauthenticated()
  }
  if (!response.ok) {
    let payload = {}
    try { payload = await response.json() } catch { payload = {} }
    throw new ApiError(response.status, payload.error || 'HttpError', payload.detail || `Erreur ${response.status}`, payload.problems || [])
  }
  if (raw) return response
  if (response.status === 204) return null
  return response.json()
}

/**
 * Download a file from the API (authenticated) and hand it to the browser.
 * @param {string} path
 * @param {string} fallbackName file name when the response does not give one
 * @returns {Promise<string>} the file name
 */
export async function download (path, fallbackName) {
  const response = await api(path, { raw: true })
  const disposition = response.headers.get('Content-Disposition') || ''
  const match = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(disposition)
  const name = match ? decodeURIComponent(match[1] || match[2]) : fallbackName
  const blob = await response.blob()
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
  return name
}
