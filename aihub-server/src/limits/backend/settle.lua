-- Settles one admitted request, once per id: releases its reservations, adds what it really
-- used to the counters that exist (an unknown one is left for seeding), gives rate units back and frees its concurrency slots. A second call with the same id
-- (while the settled marker lives) only reports the counters.
--
-- Numbers: doubles, exact to 2^53; see admit.lua. Replies are integers only.
--
-- KEYS: settled marker; nr rate buckets; ns × (counter, leases, reservations); nc concurrency zsets.
-- ARGV: now_ms, id, nr, ns, nc, margin_ms, ended_ms,
--       nr × (give_back_whole_us, give_back_frac, limit, period_us),
--       ns × (actual).
-- Reply: ns × (used, reserved).

local function num(n)
  return string.format('%.0f', n)
end

local function drop_reservations(rk, ids)
  local freed = 0
  for first = 1, #ids, 1000 do
    local batch = {}
    for j = first, math.min(first + 999, #ids) do
      batch[#batch + 1] = ids[j]
    end
    local amounts = redis.call('HMGET', rk, unpack(batch))
    for j = 1, #amounts do
      freed = freed + (tonumber(amounts[j]) or 0)
    end
    redis.call('HDEL', rk, unpack(batch))
  end
  return freed
end

local now = tonumber(ARGV[1])
local id = ARGV[2]
local nr, ns, nc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local margin = tonumber(ARGV[6])
local ended_ms = tonumber(ARGV[7])
local now_us = now * 1000
local rate_arg = 8
local spend_arg = rate_arg + 4 * nr
local rate_key = 2
local spend_key = rate_key + nr
local conc_key = spend_key + 3 * ns

local function counters()
  local reply = {}
  for i = 0, ns - 1 do
    local v = redis.call('HMGET', KEYS[spend_key + 3 * i], 'u', 'r', 'x')
    if v[1] and (tonumber(v[3]) or 0) > now then
      reply[#reply + 1] = tonumber(v[1])
      reply[#reply + 1] = tonumber(v[2]) or 0
    else
      reply[#reply + 1] = 0
      reply[#reply + 1] = 0
    end
  end
  return reply
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  return counters()
end

local lease_end = now
local reply = {}
for i = 0, ns - 1 do
  local ck, lk, rk = KEYS[spend_key + 3 * i], KEYS[spend_key + 3 * i + 1], KEYS[spend_key + 3 * i + 2]
  local actual = ARGV[spend_arg + i]
  local v = redis.call('HMGET', ck, 'u', 'x', 's')
  if not v[1] or (tonumber(v[2]) or 0) <= now then
    -- Unknown or expired (the period ended, or Redis lost it). Recreating it from this one
    -- request would forget everything spent before: leave it absent, and the next admission
    -- seeds it from the usage records, which then include this request's.
    redis.call('DEL', ck, lk, rk)
    reply[#reply + 1] = 0
    reply[#reply + 1] = 0
  else
    local freed = 0
    local ended = redis.call('ZRANGEBYSCORE', lk, '-inf', num(now))
    if #ended > 0 then
      freed = drop_reservations(rk, ended)
      redis.call('ZREMRANGEBYSCORE', lk, '-inf', num(now))
    end
    local mine = redis.call('HGET', rk, id)
    if mine then
      local until_ms = tonumber(redis.call('ZSCORE', lk, id)) or now
      if until_ms > lease_end then
        lease_end = until_ms
      end
      redis.call('HDEL', rk, id)
      redis.call('ZREM', lk, id)
      freed = freed + tonumber(mine)
    end
    local r
    if freed ~= 0 then
      r = redis.call('HINCRBY', ck, 'r', num(-freed))
    else
      r = tonumber(redis.call('HGET', ck, 'r')) or 0
    end
    if r ~= 0 and redis.call('EXISTS', lk) == 0 then
      redis.call('DEL', rk)
      redis.call('HSET', ck, 'r', '0')
      r = 0
    end
    if (tonumber(v[3]) or 0) > ended_ms then
      -- Seeded from the usage records after this request ended: its record counts already.
      reply[#reply + 1] = tonumber(redis.call('HGET', ck, 'u'))
    else
      reply[#reply + 1] = redis.call('HINCRBY', ck, 'u', actual)
    end
    reply[#reply + 1] = r
  end
end

for i = 0, nr - 1 do
  local key = KEYS[rate_key + i]
  local a = rate_arg + 4 * i
  local whole, frac, limit = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local v = redis.call('HMGET', key, 't', 'f')
  local t, f = tonumber(v[1]), tonumber(v[2]) or 0
  if t and t >= now_us then
    if f >= limit then
      f = limit - 1
    end
    t = t - whole
    if f >= frac then
      f = f - frac
    else
      f = f + limit - frac
      t = t - 1
    end
    if t <= now_us then
      redis.call('DEL', key) -- full again
    else
      redis.call('HSET', key, 't', num(t), 'f', num(f))
      redis.call('PEXPIRE', key, num(math.ceil((t - now_us) / 1000) + 1000))
    end
  end
end

for i = 0, nc - 1 do
  local key = KEYS[conc_key + i]
  local until_ms = tonumber(redis.call('ZSCORE', key, id))
  if until_ms then
    if until_ms > lease_end then
      lease_end = until_ms
    end
    redis.call('ZREM', key, id)
  end
end

redis.call('SET', KEYS[1], '1', 'PX', num(lease_end - now + margin))
return reply
