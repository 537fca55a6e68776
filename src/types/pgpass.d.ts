declare module 'pgpass' {
  interface ConnInfo {
    database?: string
    host?: string
    port?: number
    user?: string
  }
  function pgpass(connInfo: ConnInfo, callback: (password?: string) => void): void
  export default pgpass
}
