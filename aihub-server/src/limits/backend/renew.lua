-- Extends the lease of one request's reservations and concurrency slots, so that a request
-- that runs longer than the lease keeps what it took. Only live holdings are extended: a lease
-- that already ended is not taken again (the caller renews well before the end).
--
-- KEYS: ns × (leases zset, reservations hash); nc concurrency zsets.
-- ARGV: now_ms, lease_ms, id, ns, nc.
-- Reply: {holdings still held and now extended}.

local function num(n)
  return string.format('%.0f', n)
end

local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local id = ARGV[3]
local ns, nc = tonumber(ARGV[4]), tonumber(ARGV[5])
local deadline = now + lease
-- As in admit.lua: the sets live until their last lease ends, plus a minute for clock skew.
local ttl = lease + 60000
local held = 0

local function extend(zkey, companion)
  local until_ms = tonumber(redis.call('ZSCORE', zkey, id))
  if not until_ms or until_ms <= now then
    return
  end
  if until_ms < deadline then
    redis.call('ZADD', zkey, num(deadline), id)
  end
  if redis.call('PTTL', zkey) < ttl then
    redis.call('PEXPIRE', zkey, num(ttl))
    if companion then
      redis.call('PEXPIRE', companion, num(ttl))
    end
  end
  held = held + 1
end

for i = 0, ns - 1 do
  extend(KEYS[1 + 2 * i], KEYS[2 + 2 * i])
end
for i = 0, nc - 1 do
  extend(KEYS[1 + 2 * ns + i], nil)
end
return {held}
