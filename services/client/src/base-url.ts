/**
 * The base URL the client may send passwords and tokens to: HTTPS, or plain HTTP only to a loopback address
 * and only when asked for explicitly (`insecureHttpLoopback`, the CLI's `--insecure-http-loopback`), e.g. to
 * talk to a service on this machine without the gateway.
 */
import { isIP } from 'node:net';

const isLoopback = (hostname: string) => {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
};

export function checkBaseUrl(baseUrl: string, insecureHttpLoopback = false): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`base URL "${baseUrl}" is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol !== 'http:') throw new Error(`base URL must be https://, not ${url.protocol}//`);
  if (!isLoopback(url.hostname)) {
    throw new Error(
      'base URL must be https://: over plain HTTP the password and tokens travel in clear (http:// is allowed only to a loopback address, with --insecure-http-loopback)',
    );
  }
  if (!insecureHttpLoopback) {
    throw new Error(
      'base URL is plain http:// (loopback): pass --insecure-http-loopback (SDK: insecureHttpLoopback) to allow it',
    );
  }
  return url;
}
