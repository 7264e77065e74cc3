-- Admits one request: takes every rate bucket, spend reservation and concurrency slot it asks
-- for, or nothing. One script, so Redis runs it atomically: two gateways can never both take
-- the last unit. Everything is checked first; only then is anything written (releasing ended
-- leases and forgetting expired counters first is housekeeping any call would do).
--
-- Numbers: Redis Lua numbers are doubles, exact for integers up to 2^53 (about 9.0e15).
-- Unix microseconds (about 1.8e15 today), token counts, and money in nano-units (up to about
-- nine million currency units) fit. The caller clamps limits and periods to stay within that
-- and computes the products that would not fit (cost × period) itself. Numbers are written
-- back with '%.0f' so Redis never sees an exponent. Replies are integers only.
--
-- KEYS: nr rate buckets (hash t = TAT µs, f = fraction in 1/limit µs);
--       ns × (counter hash {u, r, x}, leases zset id → deadline ms, reservations hash id → amount);
--       nc concurrency zsets (id → deadline ms).
-- ARGV: now_ms, lease_ms, id, nr, ns, nc,
--       nr × (inc_whole_us, inc_frac, limit, period_us),
--       ns × (limit, amount),
--       nc × (max).
-- Reply: {0, nr × (ahead_us, frac), ns × (used, reserved)}          granted
--        {1, index, ahead_us, frac, nr × (ahead_us, frac)}           rate limited (candidate, then
--                                                                    every bucket as it stands)
--        {2, index, used, reserved}                                  over limit
--        {3, index}                                                  too concurrent
--        {4, indices...}                                             unseeded

local function num(n)
  return string.format('%.0f', n)
end

-- Sum of the reservations in `ids`, then removes them; batched to stay under Lua's stack limit.
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
local lease = tonumber(ARGV[2])
local id = ARGV[3]
local nr, ns, nc = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now_us = now * 1000
local deadline = now + lease
local rate_arg = 7
local spend_arg = rate_arg + 4 * nr
local conc_arg = spend_arg + 2 * ns
local spend_key = nr + 1
local conc_key = nr + 3 * ns + 1

-- 1. Spend counters: forget expired ones, release ended leases, find the unknown.
local used, reserved = {}, {}
local unseeded = {}
for i = 0, ns - 1 do
  local ck, lk, rk = KEYS[spend_key + 3 * i], KEYS[spend_key + 3 * i + 1], KEYS[spend_key + 3 * i + 2]
  local v = redis.call('HMGET', ck, 'u', 'r', 'x')
  if not v[1] or (tonumber(v[3]) or 0) <= now then
    if v[1] then
      redis.call('DEL', ck, lk, rk)
    end
    unseeded[#unseeded + 1] = i
  else
    local r = tonumber(v[2]) or 0
    local ended = redis.call('ZRANGEBYSCORE', lk, '-inf', num(now))
    if #ended > 0 then
      local freed = drop_reservations(rk, ended)
      redis.call('ZREMRANGEBYSCORE', lk, '-inf', num(now))
      if freed ~= 0 then
        r = tonumber(redis.call('HINCRBY', ck, 'r', num(-freed)))
      end
    end
    if r ~= 0 and redis.call('EXISTS', lk) == 0 then
      -- No leases left (every one ended, or their keys expired with the last of them):
      -- nothing can be reserved.
      redis.call('DEL', rk)
      redis.call('HSET', ck, 'r', '0')
      r = 0
    end
    used[i], reserved[i] = tonumber(v[1]), r
  end
end
if #unseeded > 0 then
  return {4, unpack(unseeded)}
end

-- A bucket as it stands: TAT never before now, fraction valid for this limit.
local function bucket(key, limit)
  local v = redis.call('HMGET', key, 't', 'f')
  local t, f = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if t < now_us then
    return now_us, 0
  end
  if f >= limit then
    f = limit - 1
  end
  return t, f
end

-- 2. Rates, in order; a key named twice sees its earlier take.
local staged = {}
local taken = {}
for i = 0, nr - 1 do
  local key = KEYS[1 + i]
  local a = rate_arg + 4 * i
  local whole, frac = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local limit, period = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local t, f
  if staged[key] then
    t, f = staged[key][1], staged[key][2]
  else
    t, f = bucket(key, limit)
  end
  f = f + frac
  t = t + whole
  if f >= limit then
    f = f - limit
    t = t + 1
  end
  local ahead = t - now_us
  if ahead > period or (ahead == period and f > 0) then
    local reply = {1, i, ahead, f}
    for j = 0, nr - 1 do
      local tj, fj = bucket(KEYS[1 + j], tonumber(ARGV[rate_arg + 4 * j + 2]))
      reply[#reply + 1] = tj - now_us
      reply[#reply + 1] = fj
    end
    return reply
  end
  staged[key] = {t, f}
  taken[i] = {t, f}
end

-- 3. Spend counters: used + reserved + this request within the limit.
local extra = {}
for i = 0, ns - 1 do
  local ck = KEYS[spend_key + 3 * i]
  local a = spend_arg + 2 * i
  local limit, amount = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local before = extra[ck] or 0
  if used[i] + reserved[i] + before + amount > limit then
    return {2, i, used[i], reserved[i]}
  end
  extra[ck] = before + amount
end

-- 4. Concurrency: a full set refuses, unless this id already holds a slot in it.
local checked = {}
for i = 0, nc - 1 do
  local key = KEYS[conc_key + i]
  if not checked[key] then
    checked[key] = true
    redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now))
    local max = tonumber(ARGV[conc_arg + i])
    if not redis.call('ZSCORE', key, id) and redis.call('ZCARD', key) >= max then
      return {3, i}
    end
  end
end

-- Everything passed: take it all.
local reply = {0}
for i = 0, nr - 1 do
  local key = KEYS[1 + i]
  local s = staged[key]
  if s then
    staged[key] = nil
    redis.call('HSET', key, 't', num(s[1]), 'f', num(s[2]))
    -- Until the bucket is full again (plus a second for clock skew between gateways).
    redis.call('PEXPIRE', key, num(math.ceil((s[1] - now_us) / 1000) + 1000))
  end
  reply[#reply + 1] = taken[i][1] - now_us
  reply[#reply + 1] = taken[i][2]
end
for i = 0, ns - 1 do
  local ck, lk, rk = KEYS[spend_key + 3 * i], KEYS[spend_key + 3 * i + 1], KEYS[spend_key + 3 * i + 2]
  local amount = ARGV[spend_arg + 2 * i + 1]
  redis.call('HINCRBY', ck, 'r', amount)
  redis.call('HINCRBY', rk, id, amount)
  redis.call('ZADD', lk, num(deadline), id)
  -- Leases and reservations live until the last lease in them ends (plus a minute for clock
  -- skew); should they expire, step 1 above knows that nothing is reserved any more.
  local ttl = lease + 60000
  if redis.call('PTTL', lk) < ttl then
    redis.call('PEXPIRE', lk, num(ttl))
    redis.call('PEXPIRE', rk, num(ttl))
  end
end
for i = 0, ns - 1 do
  local v = redis.call('HMGET', KEYS[spend_key + 3 * i], 'u', 'r')
  reply[#reply + 1] = tonumber(v[1])
  reply[#reply + 1] = tonumber(v[2])
end
for i = 0, nc - 1 do
  local key = KEYS[conc_key + i]
  redis.call('ZADD', key, num(deadline), id)
  -- Until the last lease in it ends (plus a minute for clock skew).
  local ttl = lease + 60000
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, num(ttl))
  end
end
return reply
