// webtorrent and bittorrent-tracker import 'webrtc-polyfill'; the upstream package
// builds node-datachannel from downloaded sources, which cannot happen offline.
const wrtc = require('@roamhq/wrtc')
module.exports = wrtc
module.exports.default = wrtc
