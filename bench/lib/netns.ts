// A private network for the flash-crowd benchmark and its test: a bridge in a namespace of its own,
// one namespace for the origin and one per client, each on the bridge with a veth pair and an
// address of its own (10.77.0.0/24; the namespaces are private, so two runs may use the same
// addresses). The origin also has a control link to the root namespace (one veth pair, a /30 of
// 10.78.0.0/16 chosen from the process id), over which the benchmark uploads and polls: that
// traffic is neither capped nor counted. Everything is removed by `destroy()`, and what a killed
// run left behind (names of a process that no longer runs) is removed when the next one starts.
import { execFileSync } from 'node:child_process'
import { pidAlive } from './procfs.ts'
import { run } from './processes.ts'

const FAMILY = 'scn' // every namespace is scn<pid>-<k>-…, the root veth scn<pid>k<k>
const NS_NAME = /^scn(\d+)-\d+-/
const ROOT_VETH = /^scn(\d+)k\d+$/
const SUBNET = '10.77.0'
/** The interface of every namespace on the bridge, and the origin's end of the control link. */
const LAN_IF = 'lan0'
const CTL_IF = 'ctl0'

export interface NetHost {
  ns: string
  /** Its address on the bridge. */
  address: string
}

export interface Lab {
  /** Every namespace it made (gone after destroy()). */
  namespaces: string[]
  origin: NetHost
  clients: NetHost[]
  /** The origin's address on the control link (reachable from this process). */
  controlAddress: string
  /** argv that runs `cmd args` inside a host's namespace (`ip` execs it: same pid). */
  exec(host: NetHost, cmd: string, args: string[]): [string, string[]]
  /** Caps what `host` sends on the bridge to `bytesPerSecond` (token bucket on its veth). */
  capEgress(host: NetHost, bytesPerSecond: number): Promise<void>
  /** Bytes `host` has sent / received on the bridge since its veth was made (headers included). */
  counters(host: NetHost): Promise<{ tx: number; rx: number }>
  destroy(): Promise<void>
}

/** argv that runs `cmd args` inside namespace `ns` (`ip` execs it: same pid). */
export const inNamespace = (ns: string, cmd: string, args: string[]): [string, string[]] => [
  'ip',
  ['netns', 'exec', ns, cmd, ...args],
]

let labs = 0
/** Labs not destroyed yet: their namespaces and root veth. */
const live = new Set<{ namespaces: string[]; rootVeth: string }>()

/** Every namespace name that exists now. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'])
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean)
}

// Ours, of a process that is gone (or of an earlier process with our pid), and no live lab's.
const stale = (name: string, re: RegExp): boolean => {
  const pid = Number(re.exec(name)?.[1])
  if (!Number.isInteger(pid) || (pid !== process.pid && pidAlive(pid))) return false
  for (const lab of live) if (lab.rootVeth === name || lab.namespaces.includes(name)) return false
  return true
}

// Processes left in a namespace keep it (and its interfaces) alive after `ip netns del`.
function killInside(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no such namespace */
  }
}

// The root veth is deleted by name: its namespace peer would take it along, but only once the
// kernel gets round to freeing that namespace.
function removeSync(namespaces: string[], rootVeth?: string): void {
  if (rootVeth) {
    try {
      execFileSync('ip', ['link', 'del', rootVeth], { stdio: 'ignore' })
    } catch {
      /* gone already */
    }
  }
  for (const ns of namespaces) killInside(ns)
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
    } catch {
      /* gone already */
    }
  }
}

/** Removes the namespaces and root veths of runs whose process is gone. */
async function removeLeftovers(): Promise<void> {
  removeSync((await listNamespaces()).filter((n) => stale(n, NS_NAME)))
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[]
  for (const { ifname } of links) {
    if (stale(ifname, ROOT_VETH)) await run('ip', ['link', 'del', ifname]).catch(() => {})
  }
}

/**
 * A /30 of 10.78.0.0/16 that no route of this machine covers yet, chosen from the process id and
 * `k`: the lab's control link, and the firewall test's veth pair (test/e2e/install-firewall).
 */
export async function controlSubnet(k: number): Promise<{ root: string; origin: string }> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const n = (process.pid * 8 + k + attempt * 977) % 16384
    const base = `10.78.${n >> 6}.${(n & 63) * 4}`
    const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', 'match', `${base}/30`])).stdout) as {
      dst: string
    }[]
    if (routes.every((r) => r.dst === 'default')) {
      const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number]
      return { root: `${a}.${b}.${c}.${d + 1}`, origin: `${a}.${b}.${c}.${d + 2}` }
    }
  }
  throw new Error('no free /30 in 10.78.0.0/16 for the control link')
}

/** Makes the network: a bridge, the origin and `clients` client namespaces (at most 200). */
export async function createLab(clients: number): Promise<Lab> {
  if (!Number.isInteger(clients) || clients < 1 || clients > 200) throw new Error(`clients: 1 to 200, got ${clients}`)
  await removeLeftovers()
  const k = labs++
  const tag = `${FAMILY}${process.pid}-${k}`
  const bridgeNs = `${tag}-br`
  const origin: NetHost = { ns: `${tag}-o`, address: `${SUBNET}.1` }
  const hosts = Array.from(
    { length: clients },
    (_, i): NetHost => ({ ns: `${tag}-c${i}`, address: `${SUBNET}.${10 + i}` }),
  )
  const namespaces = [bridgeNs, origin.ns, ...hosts.map((h) => h.ns)]
  const rootVeth = `${FAMILY}${process.pid}k${k}`
  const entry = { namespaces, rootVeth }
  live.add(entry)
  const ctl = await controlSubnet(k)
  const ip = (...args: string[]) => run('ip', args)
  const inNs = (ns: string, ...args: string[]) => run('ip', ['-n', ns, ...args])
  try {
    for (const ns of namespaces) {
      await ip('netns', 'add', ns)
      await inNs(ns, 'link', 'set', 'lo', 'up')
      // IPv4 only: no IPv6 neighbour discovery or router solicitations in the byte counts.
      await run(
        ...inNamespace(ns, 'sysctl', [
          '-qw',
          'net.ipv6.conf.all.disable_ipv6=1',
          'net.ipv6.conf.default.disable_ipv6=1',
        ]),
      ).catch(() => {}) // a kernel without IPv6 has nothing to turn off
    }
    await inNs(bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
    await inNs(bridgeNs, 'link', 'set', 'br0', 'up')
    for (const [i, h] of [origin, ...hosts].entries()) {
      const port = `p${i}`
      // Both ends made where they live: the same names in every run, none in the root namespace.
      await ip('link', 'add', port, 'netns', bridgeNs, 'type', 'veth', 'peer', 'name', LAN_IF, 'netns', h.ns)
      await inNs(bridgeNs, 'link', 'set', port, 'master', 'br0')
      await inNs(bridgeNs, 'link', 'set', port, 'up')
      await inNs(h.ns, 'addr', 'add', `${h.address}/24`, 'dev', LAN_IF)
      await inNs(h.ns, 'link', 'set', LAN_IF, 'up')
    }
    await ip('link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', CTL_IF, 'netns', origin.ns)
    await ip('addr', 'add', `${ctl.root}/30`, 'dev', rootVeth)
    await ip('link', 'set', rootVeth, 'up')
    await inNs(origin.ns, 'addr', 'add', `${ctl.origin}/30`, 'dev', CTL_IF)
    await inNs(origin.ns, 'link', 'set', CTL_IF, 'up')
  } catch (err) {
    removeSync(namespaces, rootVeth)
    live.delete(entry)
    throw err
  }
  return {
    namespaces,
    origin,
    clients: hosts,
    controlAddress: ctl.origin,
    exec: (host, cmd, args) => inNamespace(host.ns, cmd, args),
    async capEgress(host, bytesPerSecond) {
      // burst: at least a few 64 KiB GSO packets, and 20 ms at the rate; latency bounds the queue.
      const burst = Math.max(256 * 1024, Math.round(bytesPerSecond / 50))
      await run(
        ...inNamespace(host.ns, 'tc', [
          'qdisc',
          'replace',
          'dev',
          LAN_IF,
          'root',
          'tbf',
          'rate',
          `${Math.round(bytesPerSecond * 8)}bit`,
          'burst',
          String(burst),
          'latency',
          '50ms',
        ]),
      )
    },
    async counters(host) {
      const [link] = JSON.parse((await inNs(host.ns, '-j', '-s', 'link', 'show', 'dev', LAN_IF)).stdout) as {
        stats64: { tx: { bytes: number }; rx: { bytes: number } }
      }[]
      if (!link) throw new Error(`no ${LAN_IF} in ${host.ns}`)
      return { tx: link.stats64.tx.bytes, rx: link.stats64.rx.bytes }
    },
    async destroy() {
      removeSync(namespaces, rootVeth)
      live.delete(entry)
    },
  }
}

// Last resort (the process exits without destroy()): synchronous, so it runs in an exit handler.
process.once('exit', () => {
  for (const { namespaces, rootVeth } of live) removeSync(namespaces, rootVeth)
})

/** Whether this process can make namespaces: root and iproute2's `ip` and `tc`; else why not. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces'
  for (const cmd of ['ip', 'tc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    } catch {
      return `${cmd} not found (Debian: apt-get install iproute2)`
    }
  }
  return null
}
