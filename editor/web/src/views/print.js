// "Imprimer" and "PDF du brouillon" for the current draft (issue 17, point 9): printing opens
// every section first (a closed one is not built) and the print stylesheet (styles.css,
// @media print) hides the page's chrome; the draft PDF is rendered by the server from the live
// content, marked "BROUILLON", without saving a version (GET /api/ppas/{id}/draft/pdf).
import { download } from '../api.js'
import { h } from '../dom.js'
import { openSection } from '../forms/kit.js'
import { SECTIONS } from '../forms/sections.js'

/** Open every section of the form (before printing). */
export function openAllSections () {
  for (const [id] of SECTIONS) openSection(id)
}

/**
 * The two buttons, and a cleanup removing the `beforeprint` listener (Ctrl+P prints it all too).
 * @param {string} ppaId
 * @param {{draft: boolean, setStatus: (text: string) => void}} opts draft: the PDF of the draft
 *   is offered (members who read drafts, on a PPA not validated)
 * @returns {[HTMLElement, () => void]}
 */
export function printTools (ppaId, { draft, setStatus }) {
  const onBeforePrint = () => openAllSections()
  window.addEventListener('beforeprint', onBeforePrint)
  const tools = h('div', { class: 'print-tools' },
    h('button', {
      type: 'button',
      class: 'btn btn--ghost',
      on: {
        click: () => {
          openAllSections()
          requestAnimationFrame(() => window.print())
        }
      }
    }, 'Imprimer'),
    draft
      ? h('button', {
        type: 'button',
        class: 'btn btn--ghost',
        on: {
          click: async () => {
            setStatus('Préparation du PDF du brouillon…')
            try {
              const name = await download(`/api/ppas/${encodeURIComponent(ppaId)}/draft/pdf`, `ppa-brouillon-${ppaId}.pdf`)
              setStatus(`Téléchargé : ${name} (brouillon, non validé)`)
            } catch (error) {
              setStatus(error.message)
            }
          }
        }
      }, 'PDF du brouillon')
      : null)
  return [tools, () => window.removeEventListener('beforeprint', onBeforePrint)]
}
