/**
 * directorctl's own export format, read back by import:csv into an identical database.
 *
 *   # directorctl export mode=direct
 *   backend,ID,HOSTNAME,HOSTIP,STATE,WEIGHT,TAGS        (tags separated by spaces)
 *   mapping,KEY,BACKEND_ID
 *
 * JSON: {"mode", "backends": [{id, hostname, hostip, state, weight, tags}], "mappings": [[key, backendId], ...]}
 */
import type {Backend} from '../director/backends.js'
import type {Mode} from '../settings.js'

export type ExportBackend = Pick<Backend, 'id' | 'hostname' | 'hostip' | 'state' | 'weight' | 'tags'>

export function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export const csvHeader = (mode: Mode) => `# directorctl export mode=${mode}`
export const csvBackend = (b: ExportBackend) => ['backend', b.id, b.hostname, b.hostip, b.state, b.weight, b.tags.join(' ')].map((v) => csvField(v)).join(',')
export const csvMapping = (key: string | number, backendId: number) => ['mapping', key, backendId].map((v) => csvField(v)).join(',')
