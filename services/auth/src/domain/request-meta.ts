/**
 * Who made a request, as the use cases see it: plain data the routes read from the request
 * (`routes/request-meta.ts`). Limits and admission count by the address; audit events and sessions record all three.
 */
export interface RequestMeta {
  /** The client's address (`routes/client-address.ts`: the socket, or the trusted proxy's forwarded one). */
  ip: string;
  userAgent: string;
  requestId: string | undefined;
}
