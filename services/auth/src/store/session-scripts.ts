/**
 * The sessions store's Lua scripts (`sessions.ts`). Each is one atomic change: a key and its TTL set together, and
 * every key it touches passed in KEYS (Redis Cluster routes a script by its KEYS). The scripts over all of a user's
 * sessions get the index as the caller read it (sids in ARGV, their keys in KEYS) and do nothing when it changed.
 */

// Removes ARGV[1] from the index KEYS[2], and the index once empty.
const DROP_FROM_INDEX = `
local function drop(index, sid)
  redis.call('ZREM', index, sid)
  if redis.call('ZCARD', index) == 0 then redis.call('DEL', index) end
end
`;

// Is the index KEYS[index] still exactly the sids ARGV[first + 1 .. first + count], in order (as the caller read it)?
const INDEX_IS = `
local function index_is(index, first, count)
  local sids = redis.call('ZRANGE', index, 0, -1)
  if #sids ~= count then return false end
  for i = 1, count do
    if sids[i] ~= ARGV[first + i] then return false end
  end
  return true
end
`;

// KEYS[1] session, KEYS[2] index, KEYS[2 + i] the session key of ARGV[11 + i]. ARGV: sid, created ms, ip, ua,
// generation, token hash, family hash, absolute expiry ms, ttl ms, max sessions, cookie hash ('' for none), then
// the sids of the index as read. Returns {'stale'} when the index changed, else {'ok', evicted sids, oldest first}.
export const CREATE = `${INDEX_IS}
local listed = #KEYS - 2
if not index_is(KEYS[2], 11, listed) then return {'stale'} end
local live = {}
for i = 1, listed do
  if redis.call('EXISTS', KEYS[2 + i]) == 1 then
    live[#live + 1] = i
  else
    redis.call('ZREM', KEYS[2], ARGV[11 + i])
  end
end
local result = {'ok'}
for j = 1, #live - tonumber(ARGV[10]) + 1 do
  local i = live[j]
  redis.call('DEL', KEYS[2 + i])
  redis.call('ZREM', KEYS[2], ARGV[11 + i])
  result[#result + 1] = ARGV[11 + i]
end
redis.call('HSET', KEYS[1], 'created', ARGV[2], 'last_used', ARGV[2], 'ip', ARGV[3], 'ua', ARGV[4],
  'gen', ARGV[5], 'rt', ARGV[6], 'fam', ARGV[7], 'abs_exp', ARGV[8])
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'ck', ARGV[11]) end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then redis.call('PEXPIRE', KEYS[2], ARGV[9]) end
return result
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid, presented token hash, family hash, next token hash, now ms,
// idle ttl ms, ip, ua.
export const ROTATE = `${DROP_FROM_INDEX}
local s = redis.call('HMGET', KEYS[1], 'rt', 'fam', 'gen', 'abs_exp')
if not s[1] or s[2] ~= ARGV[3] then return {'unknown'} end
if s[1] ~= ARGV[2] then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'reuse', s[3]}
end
local now = tonumber(ARGV[5])
local left = tonumber(s[4]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'expired'}
end
local gen = tostring(tonumber(s[3]) + 1)
local ttl = math.min(tonumber(ARGV[6]), left)
redis.call('HSET', KEYS[1], 'rt', ARGV[4], 'gen', gen, 'last_used', ARGV[5], 'ip', ARGV[7], 'ua', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return {'rotated', gen}
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid. Returns 1 when the session was live.
export const REVOKE = `${DROP_FROM_INDEX}
local n = redis.call('DEL', KEYS[1])
drop(KEYS[2], ARGV[1])
return n
`;

// KEYS[1] index, KEYS[1 + i] the session key of ARGV[1 + i]. ARGV: sid to keep ('' for none), then the sids of the
// index as read. Returns the number revoked, or -1 when the index changed.
export const REVOKE_ALL = `${INDEX_IS}
local listed = #KEYS - 1
if not index_is(KEYS[1], 1, listed) then return -1 end
local count = 0
for i = 1, listed do
  if ARGV[1 + i] ~= ARGV[1] then
    count = count + redis.call('DEL', KEYS[1 + i])
    redis.call('ZREM', KEYS[1], ARGV[1 + i])
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return count
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid, cookie hash, now ms, idle ttl ms. Checks a cookie (the current one,
// or the one before it during its short grace after a rotation) and slides the session's idle lifetime. Returns
// {'ok', cached token or '', '1' when the current cookie is due for rotation else '0'}, or {'unknown'} / {'expired'}.
export const COOKIE_USE = `${DROP_FROM_INDEX}
local s = redis.call('HMGET', KEYS[1], 'ck', 'abs_exp', 'at', 'at_until', 'rot', 'ck_prev', 'ck_prev_until')
local now = tonumber(ARGV[3])
local current = s[1] and s[1] == ARGV[2]
local previous = s[6] and s[6] == ARGV[2] and tonumber(s[7]) > now
if not current and not previous then return {'unknown'} end
local left = tonumber(s[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'expired'}
end
local ttl = math.min(tonumber(ARGV[4]), left)
redis.call('HSET', KEYS[1], 'last_used', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local rotate = '0'
if current and s[5] == '1' then rotate = '1' end
if s[3] and tonumber(s[4]) > now then return {'ok', s[3], rotate} end
return {'ok', '', rotate}
`;

// KEYS[1] session. ARGV: cookie hash, token, serve-until ms. Caches a minted token while the cookie is current
// and not marked for rotation (roles changed while the token was being minted: it may carry the old ones).
export const COOKIE_CACHE = `
local s = redis.call('HMGET', KEYS[1], 'ck', 'rot')
if s[1] ~= ARGV[1] or s[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[2], 'at_until', ARGV[3])
return 1
`;

// KEYS[1] session. ARGV: current cookie hash, next cookie hash, ms until which the current one still counts
// (0: not at all). A new cookie value; the cached token and the rotation mark go too.
export const COOKIE_ROTATE = `
if redis.call('HGET', KEYS[1], 'ck') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ck', ARGV[2], 'ck_prev', ARGV[1], 'ck_prev_until', ARGV[3])
redis.call('HDEL', KEYS[1], 'at', 'at_until', 'rot')
return 1
`;

// KEYS[1] index, KEYS[1 + i] the session key of ARGV[i]. ARGV: the sids of the index as read. The user's
// privileges changed: drops the cached minted tokens of every session of the user, and marks each cookie
// session's cookie for rotation at its next use. Returns 1, or 0 when the index changed.
export const PRIVILEGES_CHANGED = `${INDEX_IS}
if not index_is(KEYS[1], 0, #KEYS - 1) then return 0 end
for i = 2, #KEYS do
  redis.call('HDEL', KEYS[i], 'at', 'at_until')
  if redis.call('HEXISTS', KEYS[i], 'ck') == 1 then redis.call('HSET', KEYS[i], 'rot', '1') end
end
return 1
`;
