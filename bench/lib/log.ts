// Progress lines go to stderr; the report (stdout) stays clean Markdown.
export const log = (line: string): void => console.error(`[bench] ${line}`)
