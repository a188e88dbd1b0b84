// One error type for the tracker's wire protocols. `code` is a stable machine-readable tag
// (invalid_info_hash, invalid_port, duplicate_info_hash, ...) so callers can branch without
// parsing messages; `message` is safe to send back to the client as the failure reason.
// `transactionId` is set only by the UDP parser, and only when the packet was a well-formed
// tracker request header: then the server may answer with an error packet; otherwise it drops it.
export class TrackerProtocolError extends Error {
  code: string;
  transactionId?: number;

  constructor(code: string, message: string, transactionId?: number) {
    super(message);
    this.name = 'TrackerProtocolError';
    this.code = code;
    if (transactionId !== undefined) this.transactionId = transactionId;
  }
}
