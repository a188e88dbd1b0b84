// When the web seed (/seed/) steps aside for the swarm: values in, decision out, time passed in.
// A crowd that has a seed to start from (the site's seeder, or anyone who has the whole file)
// and at least two downloaders can pass pieces among themselves; every byte the web seed sends
// them then is a byte the origin sends twice (the seeder sends the same pieces). So the web seed
// answers 503 with Retry-After while that holds, and serves at full allowed speed when the swarm
// is thin: a lone (or first) downloader, or no seed at all (the seeder off or not yet seeding).
// Downloaders are counted as the distinct addresses that asked the web seed for the file lately
// (not by the tracker: peers that vanished without a "stopped" stay there for an announce
// interval, and a crowd reaches the web seed before its announces land). The window outlasts
// Retry-After, so clients that come back keep counting while those that went to the swarm fade.

export interface SwarmView {
  /** Peers with the whole file, as the tracker counts them (the site's seeder included). */
  seeders: number
  /** Distinct addresses that asked the web seed for this file lately (this request's included). */
  webSeedClients: number
}

/** How long a client is told to wait before it asks the web seed again. */
export const WEB_SEED_RETRY_AFTER_SECONDS = 30
/** How long a web-seed client counts as one of the file's downloaders. */
export const WEB_SEED_CLIENT_MS = 120_000
/** Addresses remembered per file (strangers choose them: bounded; more than 2 changes nothing). */
const MAX_CLIENTS = 16

export const webSeedYields = (s: SwarmView): boolean => s.seeders >= 1 && s.webSeedClients >= 2

/** The distinct addresses that asked the web seed for one file within WEB_SEED_CLIENT_MS. */
export class RecentClients {
  private readonly seen = new Map<string, number>()

  /** Notes `address` at `now`; returns how many distinct addresses asked lately. */
  note(address: string, now: number): number {
    for (const [a, at] of this.seen) if (now - at >= WEB_SEED_CLIENT_MS) this.seen.delete(a)
    this.seen.delete(address)
    if (this.seen.size >= MAX_CLIENTS) this.seen.delete(this.seen.keys().next().value!)
    this.seen.set(address, now)
    return this.seen.size
  }
}
