/** The one client-bucket rule (an IPv6 client per /64, an IPv4 client per address) lives in @authstack/config. */
export { clientBucket } from '@authstack/config';
