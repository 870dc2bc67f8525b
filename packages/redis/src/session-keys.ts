/**
 * Where a login session lives in Redis: auth writes the session and its user's index, and the resource in session
 * mode checks that the session key exists. One definition, so the two services always read the same key. The user
 * id is the Redis Cluster hash tag, so all of a user's keys share one slot (a script over them runs on one node).
 */
import { hashTag } from './cluster.ts';

/** A session's key: `<prefix>session:{<user id>}:<sid>`. */
export const sessionKeyOf = (prefix: string, userId: string, sid: string) =>
  `${prefix}session:${hashTag(userId)}:${sid}`;

/** The index of a user's sessions (same hash tag as their sessions): `<prefix>user-sessions:{<user id>}`. */
export const userSessionsKeyOf = (prefix: string, userId: string) =>
  `${prefix}user-sessions:${hashTag(userId)}`;
