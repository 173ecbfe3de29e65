// The access token lives in sessionStorage (per tab, gone when the tab closes).
const TOKEN_KEY = 'ppa.token'
const ME_KEY = 'ppa.me'

export function getToken () {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setSession (token, me) {
  sessionStorage.setItem(TOKEN_KEY, token)
  sessionStorage.setItem(ME_KEY, JSON.stringify(me))
}

export function getMe () {
  try {
    return JSON.parse(sessionStorage.getItem(ME_KEY) || 'null')
  } catch {
    return null
  }
}

export function clearSession () {
  sessionStorage.removeItem(TOKEN_KEY)
  sessionStorage.removeItem(ME_KEY)
}
