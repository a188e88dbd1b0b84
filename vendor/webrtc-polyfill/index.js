// webtorrent and bittorrent-tracker import 'webrtc-polyfill'; the upstream package builds
// node-datachannel from downloaded sources, which cannot happen offline. @roamhq/wrtc ships
// its binary inside the npm package. Named exports are written out so ESM importers see them.
const wrtc = require('@roamhq/wrtc')
exports.RTCPeerConnection = wrtc.RTCPeerConnection
exports.RTCSessionDescription = wrtc.RTCSessionDescription
exports.RTCIceCandidate = wrtc.RTCIceCandidate
exports.RTCDataChannel = wrtc.RTCDataChannel
exports.MediaStream = wrtc.MediaStream
exports.default = wrtc
