// Every error code a client can see, with its HTTP status and a default message. AppError takes
// its code from here (an unknown code is a type error); README's error list is checked against it.
export const ERROR_CATALOGUE = {
  bad_request: { status: 400, message: 'Bad request' },
  invalid_title: { status: 400, message: 'A title is required' },
  invalid_description: { status: 400, message: 'The description is longer than 10,000 characters' },
  invalid_settings: { status: 400, message: 'A setting is not valid' },
  invalid_user: { status: 400, message: 'A user field is not valid' },
  invalid_token: { status: 400, message: 'A token needs a name of 1 to 100 characters' },
  invalid_video: { status: 400, message: 'A video field is not valid' },
  missing_file: { status: 400, message: 'A file is required in the multipart field "file"' },
  malformed_multipart: { status: 400, message: 'Malformed multipart body' },
  upload_cut_off: { status: 400, message: 'The upload was cut off' },
  unauthorized: { status: 401, message: 'Authentication required' },
  forbidden: { status: 403, message: 'Forbidden' },
  account_disabled: { status: 403, message: 'This account is disabled; ask an admin to enable it again' },
  csrf: { status: 403, message: 'The form has expired; reload the page and try again' },
  not_found: { status: 404, message: 'Not found' },
  video_not_found: { status: 404, message: 'No such video' },
  user_not_found: { status: 404, message: 'No such user' },
  token_not_found: { status: 404, message: 'No such token' },
  bittorrent_off: { status: 404, message: 'BitTorrent is switched off on this site' },
  no_torrent: { status: 404, message: 'This video has no torrent (yet)' },
  upload_offset_mismatch: {
    status: 409,
    message: 'The upload is at another offset; ask for it (HEAD) and resume from there',
  },
  user_exists: { status: 409, message: 'A user with that name exists' },
  last_admin: { status: 409, message: 'The site needs at least one enabled admin' },
  own_account: { status: 409, message: 'Admins cannot remove, disable or demote their own account here' },
  body_too_slow: { status: 408, message: 'The request body arrived too slowly' },
  too_large: { status: 413, message: 'Request body too large' },
  unsupported_media_type: {
    status: 415,
    message: "Only video and audio files are accepted (the file's content is not a known audio or video container)",
  },
  range_not_satisfiable: { status: 416, message: 'Requested range not satisfiable' },
  too_many_attempts: { status: 429, message: 'Too many wrong passwords or tokens from your address' },
  too_many_uploads: {
    status: 429,
    message: 'Too many unfinished uploads; finish or cancel one first',
  },
  internal: { status: 500, message: 'Internal server error' },
  not_implemented: { status: 501, message: 'Not implemented' },
  busy: { status: 503, message: 'Too many log-ins are being checked right now; try again in a second' },
  swarm_serving: {
    status: 503,
    message: "The torrent's peers are serving this file; the web seed steps aside for now",
  },
  insufficient_storage: {
    status: 507,
    message: "The server has no room left to store this upload; ask the site's admin to free some disk space",
  },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE
