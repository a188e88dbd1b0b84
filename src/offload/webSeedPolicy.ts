// When the web seed (/seed/) steps aside for the swarm: values in, decision out.
// A crowd that has a seed to start from (the site's seeder, or anyone who has the whole file)
// and at least two downloaders can pass pieces among themselves; every byte the web seed sends
// them then is a byte the origin sends twice (the seeder sends the same pieces). So the web seed
// answers 503 with Retry-After while that holds, and serves at full allowed speed when the swarm
// is thin: a lone (or first) downloader, or no seed at all (the seeder off or not yet seeding).

export interface SwarmView {
  /** Peers with the whole file, as the tracker counts them (the site's seeder included). */
  seeders: number
  leechers: number
}

/** How long a client is told to wait before it asks the web seed again. */
export const WEB_SEED_RETRY_AFTER_SECONDS = 30

export const webSeedYields = (s: SwarmView): boolean => s.seeders >= 1 && s.leechers >= 2
