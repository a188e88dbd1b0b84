// The lean engine (SEEDER_ENGINE=lean, the default) behind the same façade as the webtorrent
// one: what to seed is decided by SeedSync, serving and announcing by LeanEngine.
import { SeedSync, type SeederOptions } from '../seedSync.ts'
import { LeanEngine } from './engine.ts'

export class LeanSeeder extends SeedSync {
  constructor(opts: SeederOptions & { utp?: boolean }) {
    super(
      new LeanEngine({
        port: opts.port,
        log: opts.log,
        ...(opts.utp !== undefined ? { utp: opts.utp } : {}),
        ...(opts.limits ? { limits: opts.limits } : {}),
      }),
      opts,
    )
  }
}
