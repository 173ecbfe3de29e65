// The browser session: an HttpOnly cookie set by the server at login, which no script can read.
// This module only keeps in memory (never in sessionStorage or localStorage) who is logged in
// and the session's CSRF token, asked from the server once per page load.

/**
 * The server's GET /api/auth/session.
 * @typedef {object} BrowserSession
 * @property {{id: string, type: string, kind: string, display_name: string, professional_id: string | null}} user
 * @property {string} method how the user logged in (password, psc)
 * @property {string} csrf_token sent back in X-CSRF-Token with every change
 * @property {string} expires_at
 */

/** @type {BrowserSession | null} */
let current = null

/**
 * Ask the server who this browser's cookie belongs to (null: nobody logged in).
 * @returns {Promise<BrowserSession | null>}
 */
export async function loadSession () {
  try {
    const response = await fetch('/api/auth/session', {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    })
    current = response.ok ? await response.json() : null
  } catch {
    current = null
  }
  return current
}

/** @param {BrowserSession} session the answer of a login */
export function setSession (session) {
  current = session
}

export function getMe () {
  return current ? current.user : null
}

/** @returns {string | null} how the user logged in (password, psc) */
export function getMethod () {
  return current ? current.method : null
}

export function getCsrfToken () {
  return current ? current.csrf_token : null
}

export function isLoggedIn () {
  return current !== null
}

export function clearSession () {
  current = null
}
