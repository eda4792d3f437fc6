/** Why a blob could not be had from peers; the HTTP layer maps each to its status. */

/** No configured peer has the blob (or there are no peers): the gateway answers 404. */
export class NotOnPeersError extends Error {
  override name = "NotOnPeersError";
}

/** The request forbade asking peers (`Cache-Control: only-if-cached`) and the data is not here. */
export class NotCachedError extends Error {
  override name = "NotCachedError";
}

/** Peers had the data but none sent a first byte in time: 504, worth retrying. */
export class PeerTimeoutError extends Error {
  override name = "PeerTimeoutError";
}

/** Every peer that had the data failed (unreachable, lying, cut off): 502. */
export class PeersFailedError extends Error {
  override name = "PeersFailedError";
}
