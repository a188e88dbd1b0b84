// Minimal types for cookie@0.7 (ships none; Express's own dependency). parse never throws: a value
// that is not valid percent-encoding is returned as it was sent.
declare module 'cookie' {
  export function parse(
    header: string,
    options?: { decode?: (value: string) => string },
  ): Record<string, string | undefined>
}
