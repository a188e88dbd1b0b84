// What the video API's list asks of the cache of anonymous answers (src/web/pageCache.ts, which
// implements it): the API is media's, the cache the web's, and media does not reach into web.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VideoJson } from './videoPresenter.ts'

/** What an answer shows of the swarms, read as it is drawn. */
export interface Shown {
  infoHashes: readonly string[]
  live: string
}

export interface KeptAnswers {
  /** Taken before an answer's data is read; keep() drops the answer if a change came in between. */
  ticket(): number
  /** The live counts of the torrents an answer is about to show. */
  live(infoHashes: readonly string[]): Shown
  /** Whether a copy may answer this request, and so whether it may leave one. */
  eligible(req: IncomingMessage): boolean
  /** Keeps the answer just sent (its videos published and not hashing: the caller's check). */
  keep(ticket: number, req: IncomingMessage, body: string, res: ServerResponse, shown: Shown): void
}

/** The torrents whose live counts these videos show (a copy of them is good while those hold). */
export const swarmsShown = (videos: readonly VideoJson[]): string[] =>
  videos.flatMap((v) => (v.swarm && v.torrent ? [v.torrent.infoHash] : []))

/** Whether these videos are what anyone not logged in is shown: published, none being hashed (its progress moves). */
export const sameForEveryone = (videos: readonly VideoJson[]): boolean =>
  videos.every((v) => v.published && v.status !== 'processing')
