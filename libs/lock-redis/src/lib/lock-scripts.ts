// The Lua scripts behind RedisLockServer, one per method, each atomic on its
// server. KEYS[1] is the holder key, KEYS[2] the fence key (see lock-keys).
// Tokens arrive and are stored as canonical decimals (no leading zeros):
// Lua numbers are doubles, exact only up to 2^53, so tokens are compared as
// digit strings and never converted.

const helpers = `
local function read_fence(key)
  local fence = redis.call('GET', key)
  if not fence then return '0' end
  if #fence > 20 or not string.find(fence, '^[1-9]%d*$') then
    error('fence at ' .. key .. ' is not a token')
  end
  return fence
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
`;

/** Reply: {fence} when nobody holds the lock, else {fence, holder value, PTTL of the holder key}. */
export const inspectScript = `${helpers}
local fence = read_fence(KEYS[2])
local holder = redis.call('GET', KEYS[1])
if not holder then return {fence} end
return {fence, holder, redis.call('PTTL', KEYS[1])}
`;

/**
 * ARGV: token, holder value, ttl ms. Reply: {'held', fence, holder value,
 * PTTL}, {'stale', fence} or {'granted'} after raising the fence to token
 * and writing the holder.
 */
export const grantScript = `${helpers}
local fence = read_fence(KEYS[2])
local holder = redis.call('GET', KEYS[1])
if holder then return {'held', fence, holder, redis.call('PTTL', KEYS[1])} end
if at_least(fence, ARGV[1]) then return {'stale', fence} end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {'granted'}
`;

/** ARGV: holder value, release channel, token. Reply: 1 after deleting the holder and publishing the token, else 0. */
export const releaseScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;

/** ARGV: holder value, ttl ms. Reply: 1 after setting the holder's TTL to ttl ms, else 0. */
export const refreshScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
