// The key that per-address bounds count by on the web port and in the seeder: the tracker's own
// (IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64; src/bittorrent/address.ts), so one
// client is one address to every part of the site. A socket may have lost its address.
export { socketAddressKey as addressKey } from '../bittorrent/address.ts'
