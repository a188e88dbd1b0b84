// One error type for the torrent module; `code` is a stable machine-readable
// tag (bad_size, bad_spec, bad_torrent, bad_magnet, hash_failed) so callers
// can branch without parsing messages.
export class TorrentError extends Error {
  code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'TorrentError';
    this.code = code;
  }
}
