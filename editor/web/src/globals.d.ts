// Declarations for the type check only (npm run typecheck: tsc on the JSDoc'd JavaScript;
// nothing is compiled, esbuild bundles src/ as it is).
import type { CollabSession } from './collab/session.js'
import type { Presence } from './collab/presence.js'

declare global {
  interface Window {
    /** The open editor's live session: debugging and end-to-end tests drive it (views/editor.js). */
    ppaCollab?: { session: CollabSession, presence?: Presence }
  }
}

export {}
