// An EnvironmentFile read the way systemd reads it, so that the CLI (--env-file) sees the very
// configuration the service gets from /etc/seedcast.env (INSTALL.txt). Node's own loader differs:
// it ends a value at ` #`, which would cut a password containing one.

/**
 * systemd.exec(5), "EnvironmentFile=": lines starting with # or ; are comments and blank lines are
 * skipped, but a # after a value is part of the value; a value may be wholly in single or double
 * quotes; a backslash at the end of a line continues it; surrounding whitespace of an unquoted
 * value is dropped.
 */
export function readEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1
    let full = lines[i]!
    while (full.endsWith('\\') && i + 1 < lines.length) full = full.slice(0, -1) + lines[++i]!
    const line = full.trimStart()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    // Errors do not quote the line: it may hold the admin password.
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`line ${number} is not NAME=value`)
    const key = line.slice(0, eq).trim()
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`line ${number}: no variable name before =`)
    let value = line.slice(eq + 1).trim()
    const q = value[0]
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) value = value.slice(1, -1)
    env[key] = value
  }
  return env
}
