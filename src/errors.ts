/**
 * Expected failures and the exit codes that cli-contract.md promises to scripts.
 * Library code throws these; the base command turns them into a one-line message and exit code.
 */
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  REFUSED: 4,
  LOCKED: 5,
  DATABASE: 6,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export class DirectorError extends Error {
  readonly exit: ExitCode
  readonly code: string
  readonly suggestions: string[]

  constructor(message: string, exit: ExitCode, code: string, suggestions: string[] = []) {
    super(message)
    this.name = new.target.name
    this.exit = exit
    this.code = code
    this.suggestions = suggestions
  }
}

/** Bad usage or invalid input (exit 2). */
export class InputError extends DirectorError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT.USAGE, 'INVALID_INPUT', suggestions)
  }
}

/** A named backend, user or shard does not exist (exit 3). */
export class NotFoundError extends DirectorError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT.NOT_FOUND, 'NOT_FOUND', suggestions)
  }
}

/** The change would lose data, conflicts, or needs --yes (exit 4). */
export class RefusedError extends DirectorError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT.REFUSED, 'REFUSED', suggestions)
  }
}

/** Another run holds the lock (exit 5). */
export class LockedError extends DirectorError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT.LOCKED, 'LOCKED', suggestions)
  }
}

/** Database unreachable, wrong credentials, or wrong/missing schema (exit 6). */
export class DatabaseError extends DirectorError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT.DATABASE, 'DATABASE', suggestions)
  }
}
