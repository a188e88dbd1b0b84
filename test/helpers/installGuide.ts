// The files INSTALL.txt tells an admin to write, taken out of it as they stand there: each is a
// block indented by four spaces whose first line is a comment naming its path ("# /etc/x"; a
// script's #! line comes before it); the
// block ends at the first line that is neither indented nor blank, or at a blank line followed
// by one. Shell commands after a block's last blank line are not part of it.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const GUIDE = fileURLToPath(new URL('../../INSTALL.txt', import.meta.url))

export function guideFiles(text = readFileSync(GUIDE, 'utf8')): Map<string, string> {
  const lines = text.split('\n')
  const files = new Map<string, string>()
  for (let i = 0; i < lines.length; i++) {
    // A script's path comes right after its #! line.
    const shebang = /^ {4}#!/.test(lines[i]!) ? lines[i]!.slice(4) : null
    const head = /^ {4}# (\/\S+)$/.exec(lines[shebang === null ? i : i + 1] ?? '')
    if (!head) continue
    const body: string[] = shebang === null ? [] : [shebang]
    let j = shebang === null ? i : i + 1
    for (; j < lines.length; j++) {
      const line = lines[j]!
      if (line === '') {
        // A blank line inside a file (units have them) only if the file goes on after it.
        const next = lines.slice(j + 1).find((l) => l !== '')
        if (next === undefined || !next.startsWith('    ') || isCommand(next)) break
        body.push('')
        continue
      }
      if (!line.startsWith('    ')) break
      body.push(line.slice(4))
    }
    files.set(head[1]!, body.join('\n') + '\n')
    i = j
  }
  return files
}

// The commands the guide shows right after a file (they are not part of it).
const isCommand = (line: string) => /^ {4}(systemctl|sysctl|nft|nginx|ln|chmod|usermod|journalctl|curl) /.test(line)

// The env file is read by the same code the CLI's --env-file uses.
export { readEnvironmentFile } from '../../src/envFile.ts'

/** `Key=value` lines of one section of a unit file (later ones win, as in systemd). */
export function unitSection(unit: string, section: string): Map<string, string> {
  const out = new Map<string, string>()
  let inside = false
  for (const line of unit.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim())
    if (header) {
      inside = header[1] === section
      continue
    }
    if (!inside || line.trim() === '' || line.trim().startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return out
}
