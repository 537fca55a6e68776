/** Where one user goes, in the contract's user:show shape. */
import type {Session} from '../session.js'
import type {Backend} from './backends.js'
import type {Key} from './mapping.js'

export interface BackendRef {
  id: number
  hostname: string
  hostip: string | null
  state: number
}

export interface UserRoute {
  user: string
  mode: 'direct' | 'shard'
  shard?: number
  /** Null when the row points at a backend id that does not exist (the login fails). */
  backend: BackendRef | null
  /** Every backend id stored for the user / shard, when there is more than one (hazard 3). */
  rows?: number[]
}

export function backendRef(b: Backend): BackendRef {
  return {hostip: b.hostip, hostname: b.hostname, id: b.id, state: b.state}
}

/** The route of a user, or undefined when nothing is stored for it. */
export async function routeOfUser(session: Session, user: string): Promise<{key: Key; route?: UserRoute}> {
  const {mapping} = session
  const key = mapping.keyOf(user)
  const base: UserRoute = {backend: null, mode: session.mode, user}
  if (session.mode === 'shard') base.shard = key as number
  const routes = await mapping.routesOf([key])
  const bid = routes.get(key)
  if (bid === undefined) return {key}
  const all = await mapping.rowsOf(key)
  const backends = await session.backends.list()
  const backend = backends.find((b) => b.id === bid)
  const route: UserRoute = {...base, backend: backend ? backendRef(backend) : null}
  if (all.length > 1) route.rows = all
  return {key, route}
}
