// REST client: bearer token, JSON, French errors ({error, detail, problems}) as ApiError.
import { clearSession, getToken } from './auth.js'

export class ApiError extends Error {
  constructor (status, code, detail, problems = []) {
    super(detail || `Erreur ${status}`)
    this.status = status
    this.code = code
    this.problems = problems
  }
}

let onUnauthenticated = () => {}
export function setUnauthenticatedHandler (fn) {
  onUnauthenticated = fn
}

/**
 * api('/api/ppas/1') -> parsed JSON. Options: method, json (body), form (URLSearchParams),
 * raw (return the Response), token (override), signal.
 */
export async function api (path, { method = 'GET', json, form, raw = false, token, signal } = {}) {
  const headers = { Accept: 'application/json' }
  const bearer = token === undefined ? getToken() : token
  if (bearer) headers.Authorization = `Bearer ${bearer}`
  let body
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  } else if (form !== undefined) {
    body = form
  }
  let response
  try {
    response = await fetch(path, { method, headers, body, signal })
  } catch (error) {
    if (error.name === 'AbortError') throw error
    throw new ApiError(0, 'NetworkError', 'Serveur injoignable : vérifiez votre connexion.')
  }
  if (response.status === 401 && bearer && path !== '/api/auth/token') {
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

/** Download a file from the API (authenticated) and hand it to the browser. */
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
