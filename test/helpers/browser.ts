// Debian's Chromium driven by playwright-core. No browser is ever downloaded: the system binary
// is used, headless, with its own temporary profile (playwright makes and removes it).
import { chromium, type Browser } from 'playwright-core'

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * WebRTC between browsers on one machine: Chromium otherwise hides host addresses behind mDNS
 * names (resolved only where multicast DNS reaches the other browser: it does on this host's
 * eth0, not on every machine) and leaves loopback out of its ICE candidates.
 */
export const WEBRTC_LOCAL_ARGS = [
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
]

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      ...extraArgs,
    ],
  })
}

/** The server reports failures with console.error: collects them for the test (restored after). */
export function captureConsoleErrors(t: { after(fn: () => void): void }): string[] {
  const errors: string[] = []
  const original = console.error
  console.error = (...args: unknown[]) => {
    errors.push(args.map(String).join(' '))
    original(...args)
  }
  t.after(() => {
    console.error = original
  })
  return errors
}
