// The Lua scripts behind RedisLockServer, one per method, each atomic on its
// server. Every lock script gets the seven keys of lockKeys (holder, fence,
// ticket counter, queue, the queue's leases and its claims, then the
// server's mark), named by the same prelude, whichever it uses; the prelude
// refuses to run on a server without its mark (it may have lost fences a
// majority relied on), before anything is read or written.
// Tokens and tickets arrive and are stored as canonical decimals (no
// leading zeros): Lua numbers are doubles, exact only up to 2^53, so they
// are compared as digit strings and never converted. A ticket is also a
// queue score (a double), which is why tickets stay below 2^53. Leases are
// counted on the server's clock (TIME): Redis 7 replicates a script's
// effects, not the script, so a script may read the time and then write.
import { handedMessagePrefix, leftMessage } from './lock-keys';

/** Starts the error a lock script answers on a server without its mark. */
export const unmarkedErrorPrefix = 'UNMARKED';

const lockKeysPrelude = `
local holder_key, fence_key, ticket_key, queue_key, leases_key, claims_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
if redis.call('EXISTS', KEYS[7]) == 0 then
  return redis.error_reply('${unmarkedErrorPrefix} no ' .. KEYS[7] .. ' here: this server may have lost its data')
end
`;

const helpers = `
local function read_counter(key)
  local value = redis.call('GET', key)
  if not value then return '0' end
  if #value > 20 or not string.find(value, '^[1-9]%d*$') then
    error('counter at ' .. key .. ' is not a decimal')
  end
  return value
end

-- Whether canonical decimal a >= b. Byte by byte rather than a >= b,
-- which Lua does with strcoll and so depends on the server's locale.
local function at_least(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return true
end

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Takes the waiters whose lease has ended (at or before now) out of the
-- queue, the leases and the claims; returns now.
local function prune(queue, leases, claims)
  local now = now_ms()
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  -- ZREM in slices: unpack cannot spread thousands of values.
  for first = 1, #expired, 500 do
    local last = math.min(first + 499, #expired)
    redis.call('ZREM', queue, unpack(expired, first, last))
    redis.call('HDEL', claims, unpack(expired, first, last))
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end
  return now
end

-- The first waiter by (ticket, waiterId bytes), or nil when nobody waits.
local function head_of(queue, leases)
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if head and not redis.call('ZSCORE', leases, head) then
    error('waiter ' .. head .. ' at ' .. queue .. ' has no lease')
  end
  return head
end
`;

/**
 * Reply: {fence, ticket, {queue length, head}, {holder value, PTTL of the
 * holder key}}, with the head left out when nobody waits and the holder
 * part empty when free.
 */
export const inspectScript = `${lockKeysPrelude}${helpers}
prune(queue_key, leases_key, claims_key)
local fence = read_counter(fence_key)
local ticket = read_counter(ticket_key)
local queue = {redis.call('ZCARD', queue_key), head_of(queue_key, leases_key)}
local holder = redis.call('GET', holder_key)
if not holder then return {fence, ticket, queue, {}} end
return {fence, ticket, queue, {holder, redis.call('PTTL', holder_key)}}
`;

// Release and refresh match a holder by its parts, not its whole value:
// without an attempt, by token and owner only.
const holderHelpers = `
-- The token, attempt and owner of a holder value (token:attempt:owner; the
-- owner last, as it alone may hold ':'). A value the grant script cannot
-- have written fails the call rather than be read as someone else's.
local function holder_parts(value)
  local token, attempt, owner = string.match(value, '^([0-9]+):([A-Za-z0-9_.%-]+):(.*)$')
  if not token then error('the holder is not token:attempt:owner') end
  return token, attempt, owner
end
`;

/**
 * ARGV: token, holder value, ttl ms, waiterId ('' for none). Reply: {'held', fence, holder value,
 * PTTL}, {'queued', fence, head}, {'stale', fence} or {'granted'} after
 * raising the fence to token, writing the holder and taking the waiter
 * out of the queue.
 */
export const grantScript = `${lockKeysPrelude}${helpers}
prune(queue_key, leases_key, claims_key)
local fence = read_counter(fence_key)
local holder = redis.call('GET', holder_key)
if holder then return {'held', fence, holder, redis.call('PTTL', holder_key)} end
local head = head_of(queue_key, leases_key)
-- Waiter ids are never empty, so without one any head is ahead of the caller.
if head and head ~= ARGV[4] then return {'queued', fence, head} end
if at_least(fence, ARGV[1]) then return {'stale', fence} end
redis.call('SET', fence_key, ARGV[1])
redis.call('SET', holder_key, ARGV[2], 'PX', ARGV[3])
if head then
  redis.call('ZREM', queue_key, head)
  redis.call('ZREM', leases_key, head)
  redis.call('HDEL', claims_key, head)
end
return {'granted'}
`;

/**
 * ARGV: token, owner, attempt ('' for any), release channel, next token ('' for none), releaser's waiterId
 * and claim attempt ('' for none), vouched ('1' when the release comes with
 * a releaser, else ''; see ServerRelease.releaser). Reply: 1 after deleting
 * the holder with that token and owner (and attempt, when given), else 0.
 * A holder under the releaser's claim attempt is deleted too (a late
 * handover to it), and the releaser's entry leaves the queue even while
 * someone else holds the lock. With a next token, a lock freed now then
 * goes to the queue's head (after dropping waiters whose lease ended) if it
 * left a claim and the fence is below the next token: the fence is raised
 * to it, the claim becomes the holder under it for the claim's TTL and the
 * head leaves the queue, as a grant to it would do. A vouched release does
 * that where nobody held the lock too (a lease that ran out here, a grant
 * that never reached this server or was undone here), which brings a
 * server that fell out of step back in step; a lock held by anyone else is
 * never touched. Publishes the deleted holder's token:attempt ('handed'
 * where none was deleted), followed by :next token:claim attempt after a
 * handover; or left when the releaser's entry was the head of a free lock
 * and nothing else was published.
 */
export const releaseScript = `${lockKeysPrelude}${helpers}${holderHelpers}
local value = redis.call('GET', holder_key)
if not value and ARGV[8] == '' then return 0 end
local released, mine = nil, false
if value then
  local token, attempt, owner = holder_parts(value)
  mine = token == ARGV[1] and owner == ARGV[2] and (ARGV[3] == '' or attempt == ARGV[3])
  if mine or (ARGV[7] ~= '' and attempt == ARGV[7]) then released = token .. ':' .. attempt end
end
local left_head = false
if ARGV[6] ~= '' then
  prune(queue_key, leases_key, claims_key)
  left_head = head_of(queue_key, leases_key) == ARGV[6]
  redis.call('ZREM', queue_key, ARGV[6])
  redis.call('ZREM', leases_key, ARGV[6])
  redis.call('HDEL', claims_key, ARGV[6])
end
if value and not released then return 0 end
local done = mine and 1 or 0
if ARGV[5] ~= '' then
  if ARGV[6] == '' then prune(queue_key, leases_key, claims_key) end
  local head = head_of(queue_key, leases_key)
  local claim = head and redis.call('HGET', claims_key, head)
  if claim and not at_least(read_counter(fence_key), ARGV[5]) then
    local ttl, claimed, claimant = string.match(claim, '^([1-9][0-9]*):([A-Za-z0-9_.%-]+):(.*)$')
    if not ttl then error('the claim of ' .. head .. ' at ' .. claims_key .. ' is not ttl:attempt:owner') end
    redis.call('SET', fence_key, ARGV[5])
    redis.call('SET', holder_key, ARGV[5] .. ':' .. claimed .. ':' .. claimant, 'PX', ttl)
    redis.call('ZREM', queue_key, head)
    redis.call('ZREM', leases_key, head)
    redis.call('HDEL', claims_key, head)
    redis.call('PUBLISH', ARGV[4], (released or '${handedMessagePrefix}') .. ':' .. ARGV[5] .. ':' .. claimed)
    return done
  end
end
if released then
  redis.call('DEL', holder_key)
  redis.call('PUBLISH', ARGV[4], released)
elseif left_head then
  redis.call('PUBLISH', ARGV[4], '${leftMessage}')
end
return done
`;

/**
 * ARGV: token, owner, ttl ms. Reply: the holder's attempt after setting its TTL to ttl ms, when it has that token and owner
 * (whatever its attempt), else 0.
 */
export const refreshScript = `${lockKeysPrelude}${holderHelpers}
local value = redis.call('GET', holder_key)
if not value then return 0 end
local token, attempt, owner = holder_parts(value)
if token ~= ARGV[1] or owner ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', holder_key, ARGV[3])
return attempt
`;

/**
 * ARGV: waiterId, ticket, lease ms, claim (ttl:attempt:owner, '' for none), the claim's attempt
 * ('' for none), join ('1' or ''). Reply {'handed', token} when the
 * claim's attempt holds the lock (a release handed it over), {'stale',
 * counter} to a join whose ticket is not above the counter: nothing
 * changed. Otherwise queues the waiter with ticket (an entry already there
 * takes it too), sets its lease to end lease ms from now and its claim, and
 * raises the counter to ticket if that is higher. Reply: {ticket, head, 1
 * if someone holds the lock else 0}.
 */
export const enqueueScript = `${lockKeysPrelude}${helpers}${holderHelpers}
local now = prune(queue_key, leases_key, claims_key)
-- Everything is read and checked before anything is written.
local holder = redis.call('GET', holder_key)
if holder and ARGV[5] ~= '' then
  local token, attempt = holder_parts(holder)
  if attempt == ARGV[5] then return {'handed', token} end
end
local counter = read_counter(ticket_key)
if ARGV[6] == '1' and at_least(counter, ARGV[2]) then return {'stale', counter} end
head_of(queue_key, leases_key)
local queued = redis.call('ZSCORE', queue_key, ARGV[1])
if queued and not string.find(queued, '^[1-9]%d*$') then
  error('waiter ' .. ARGV[1] .. ' at ' .. queue_key .. ' has no ticket')
end
redis.call('ZADD', queue_key, ARGV[2], ARGV[1])
redis.call('ZADD', leases_key, now + tonumber(ARGV[3]), ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', claims_key, ARGV[1], ARGV[4])
else
  redis.call('HDEL', claims_key, ARGV[1])
end
if not at_least(counter, ARGV[2]) then redis.call('SET', ticket_key, ARGV[2]) end
return {ARGV[2], head_of(queue_key, leases_key), holder and 1 or 0}
`;

/**
 * ARGV: waiterId, release channel, claim attempt ('' for none). Reply: 1 after taking the waiter out of the
 * queue, or freeing the lock held by the claim attempt (a handover the
 * waiter will not take; published as a release), else 0. Taking out the
 * head while nobody holds the lock publishes 'left' on the channel: the
 * next waiter may take the lock now.
 */
export const leaveScript = `${lockKeysPrelude}${helpers}${holderHelpers}
prune(queue_key, leases_key, claims_key)
local holder = redis.call('GET', holder_key)
local head = head_of(queue_key, leases_key)
redis.call('ZREM', leases_key, ARGV[1])
redis.call('HDEL', claims_key, ARGV[1])
local queued = redis.call('ZREM', queue_key, ARGV[1]) == 1
if holder and ARGV[3] ~= '' then
  local token, attempt = holder_parts(holder)
  if attempt == ARGV[3] then
    redis.call('DEL', holder_key)
    redis.call('PUBLISH', ARGV[2], token .. ':' .. attempt)
    return 1
  end
end
if not queued then return 0 end
if head == ARGV[1] and not holder then redis.call('PUBLISH', ARGV[2], 'left') end
return 1
`;

// Scripts that restore and mark a server (RedisLockServers): they take the
// server's mark, suspect and restoring keys (lock-keys.ts), not a lock's.

/**
 * KEYS: the mark, the restoring key. ARGV: a nonce, the restore's lease ms.
 * Reply: 'marked' (nothing to restore), 'busy' (another restore holds the
 * restoring key) or 'begun' after writing the nonce there with that lease.
 */
export const beginRestoreScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'marked' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'busy' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 'begun'
`;

/**
 * KEYS: the mark, the restoring key, then the lock keys to restore. ARGV:
 * the restore's nonce and lease ms, then three per lock key, in order: its
 * kind ('counter' or 'holder'), its value on the server it was read from,
 * and for a holder the lease left there in ms ('' for a counter). A counter
 * is raised to the value (never lowered); a holder is written with that
 * lease unless the key holds a holder with a token at least as high.
 * Reply: 'marked' when the server has its mark (nothing written), 'lost'
 * when the restoring key no longer holds the nonce (the server was emptied,
 * or the restore's lease ran out: nothing written), else 'written' after
 * renewing the restore's lease.
 */
export const restoreScript = `${helpers}
if redis.call('EXISTS', KEYS[1]) == 1 then return 'marked' end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'lost' end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
for i = 3, #KEYS do
  local kind, value, lease = ARGV[i * 3 - 6], ARGV[i * 3 - 5], ARGV[i * 3 - 4]
  local current = redis.call('GET', KEYS[i])
  if kind == 'counter' then
    if not current or not at_least(current, value) then redis.call('SET', KEYS[i], value) end
  elseif kind == 'holder' then
    local current_token = current and string.match(current, '^([0-9]+):')
    local token = string.match(value, '^([0-9]+):')
    if not token then error('the holder for ' .. KEYS[i] .. ' is not token:attempt:owner') end
    if not current_token or not at_least(current_token, token) then
      redis.call('SET', KEYS[i], value, 'PX', lease)
    end
  else
    error('no restore of kind ' .. kind)
  end
end
return 'written'
`;

/**
 * KEYS: the mark, the suspect key, the restoring key. ARGV: the server's
 * run id, the restore's nonce. Marks the server (it counts again), clears
 * suspect and ends the restore, if the restoring key still holds the
 * nonce. Reply: 1 when marked, else 0.
 */
export const markRestoredScript = `
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
`;

/**
 * KEYS: the mark, the suspect key. ARGV: the server's run id. Marks a
 * server of a new cluster, unless it has a mark or is suspect (it is not
 * new). Reply: 1 when marked now, else 0.
 */
export const markNewScript = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/**
 * KEYS: the mark, the suspect key. ARGV: the mark's value as read, and
 * what to do: 'suspect' takes the mark away and leaves the suspect key;
 * 'adopt' replaces it with the run id in ARGV[3] (a mark an operator set by
 * hand). Only if the mark still has that value (nobody restored the server
 * meanwhile). Reply: 1 when done, else 0.
 */
export const rewriteMarkScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'adopt' then
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('DEL', KEYS[2])
else
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
`;
