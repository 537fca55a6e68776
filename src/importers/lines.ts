/** Reading operator files line by line, with line numbers for every complaint. */
import {createReadStream, readFileSync} from 'node:fs'
import {createInterface} from 'node:readline'

import {InputError} from '../errors.js'

export interface Line {
  number: number
  text: string
}

/** A whole (small) input file; a missing or unreadable file is bad input (exit 2). */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new InputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** Lines of a file (or stdin for "-"), without the line ending; streams, so memory stays flat. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  const input = file === '-' ? process.stdin : createReadStream(file, {encoding: 'utf8'})
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') resolve()
    input.once('open', () => resolve())
    input.once('error', reject)
  })
  try {
    await opened
  } catch (error) {
    throw new InputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }

  let number = 0
  for await (const text of createInterface({crlfDelay: Infinity, input})) {
    number++
    yield {number, text: number === 1 ? text.replace(/^\uFEFF/, '') : text}
  }
}

/** Split a CSV or TSV line: a tab anywhere means TSV; CSV fields may be "quoted". */
export function splitFields(text: string): string[] {
  if (text.includes('\t')) return text.split('\t')
  const fields: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        current += '"'
        i++
      } else if (ch === '"') {
        quoted = false
      } else {
        current += ch
      }
    } else if (ch === '"' && current === '') {
      quoted = true
    } else if (ch === ',') {
      fields.push(current)
      current = ''
    } else {
      current += ch
    }
  }

  if (quoted) throw new Error('unterminated quote')
  fields.push(current)
  return fields
}

/** The fields of a line, or undefined after reporting why it cannot be split. */
export function fieldsOf(text: string, line: number, errors?: LineErrors): string[] | undefined {
  try {
    return splitFields(text)
  } catch (error) {
    errors?.add(line, (error as Error).message)
    return undefined
  }
}

/** Collects bad lines so that one run reports all of them (up to a limit). */
export class LineErrors {
  readonly messages: string[] = []
  count = 0

  constructor(
    private readonly file: string,
    private readonly limit = 20,
  ) {}

  add(line: number, message: string): void {
    this.count++
    if (this.messages.length < this.limit) this.messages.push(`${this.file}:${line}: ${message}`)
  }

  /** Throw (exit 2) when anything was wrong; nothing has been written at this point. */
  throwIfAny(): void {
    if (this.count === 0) return
    const more = this.count > this.messages.length ? `\n... and ${this.count - this.messages.length} more` : ''
    throw new InputError(`${this.count} bad line(s) in ${this.file}; nothing was changed:\n${this.messages.join('\n')}${more}`)
  }
}
