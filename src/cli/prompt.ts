// Reading a new password, never from the command line (where `ps` and the shell's history keep
// it): from a terminal it is asked twice with the echo off (raw mode: the terminal shows nothing
// typed, not even stars); from a pipe it is the first line of stdin.
import { CliError } from './users.ts'

// Longer than any password accepted (1,024 characters): the check after it says why it is refused.
const MAX_LINE = 4096

/** The password, asked twice on a terminal (they must match) or the first line of a pipe. */
export async function askNewPassword(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) return firstLine(input)
  const [first, second] = await readHidden(input, output, ['New password: ', 'Same password again: '])
  if (first !== second) throw new CliError('the passwords do not match; nothing was changed')
  return first!
}

async function firstLine(input: NodeJS.ReadStream): Promise<string> {
  input.setEncoding('utf8')
  let text = ''
  for await (const chunk of input) {
    text += chunk as string
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end).replace(/\r$/, '')
    if (text.length > MAX_LINE) return text
  }
  if (text === '') throw new CliError('no password on stdin (it is read from its first line)')
  return text.replace(/\r$/, '')
}

/** One answer per prompt, typed with the echo off. Keys typed ahead carry over to the next prompt. */
function readHidden(input: NodeJS.ReadStream, output: NodeJS.WritableStream, prompts: string[]): Promise<string[]> {
  const answers: string[] = []
  let current = ''
  // Inside an escape sequence (arrow keys and the like): ESC, then [ or O, up to a final byte.
  let inEscape = 0
  return new Promise<string[]>((resolve, reject) => {
    const done = (err?: Error) => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.setRawMode(false)
      input.pause()
      if (err) reject(err)
      else resolve(answers)
    }
    const onEnd = () => done(new CliError('no password: the terminal closed'))
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (inEscape === 1) {
          inEscape = ch === '[' || ch === 'O' ? 2 : 0
          continue
        }
        if (inEscape === 2) {
          if (ch >= '@' && ch <= '~') inEscape = 0
          continue
        }
        if (ch === '\r' || ch === '\n') {
          output.write('\n')
          answers.push(current)
          current = ''
          if (answers.length === prompts.length) return done()
          output.write(prompts[answers.length]!)
        } else if (ch === '\x03' || (ch === '\x04' && current === '')) {
          output.write('\n')
          return done(new CliError('cancelled; nothing was changed'))
        } else if (ch === '\x7f' || ch === '\b') {
          current = Array.from(current).slice(0, -1).join('')
        } else if (ch === '\x15') {
          current = '' // Ctrl-U: start the line again
        } else if (ch === '\x1b') {
          inEscape = 1
        } else if (ch >= ' ') {
          current += ch
        }
      }
    }
    input.setEncoding('utf8')
    input.setRawMode(true)
    input.on('data', onData)
    input.on('end', onEnd)
    input.resume()
    output.write(prompts[0]!)
  })
}
