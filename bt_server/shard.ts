// Several seeders can split a site's torrents between them (SEEDER_SHARD=i/n on each, same
// storage and database): torrent by torrent, by its infohash, so each seeder's share stays the
// same as videos come and go and nothing needs to be coordinated. Pure.

export interface Shard {
  /** 1-based: this seeder is shard `index` of `count`. */
  index: number
  count: number
}

/** The infohash's first 32 bits pick the shard: infohashes are uniform, so shares are even. */
export function inShard(infoHash: string, shard: Shard): boolean {
  if (shard.count === 1) return true
  return Number.parseInt(infoHash.slice(0, 8), 16) % shard.count === shard.index - 1
}

export const shardName = (shard: Shard): string => `${shard.index}/${shard.count}`
