-- Takes one request of ARGV[3] tokens from a deployment's rpm/tpm, if it fits (routing/capacity.rs
-- computes the same on one instance). Windows are fixed minutes; the estimate over the last 60 s
-- adds the previous minute's count weighted by how much of it is still within them.
-- KEYS[1] requests this minute, KEYS[2] requests the minute before,
-- KEYS[3] tokens this minute, KEYS[4] tokens the minute before.
-- ARGV[1] rpm (-1: none), ARGV[2] tpm (-1: none), ARGV[3] tokens, ARGV[4] ms into this minute.
-- Returns 0 when taken, 1 when the rpm is used up, 2 when the tpm would be passed.
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local rest = 60000 - tonumber(ARGV[4])
local function estimate(current, previous)
  local c = tonumber(redis.call('GET', current) or '0')
  local p = tonumber(redis.call('GET', previous) or '0')
  return c + math.floor(p * rest / 60000)
end
if rpm >= 0 and estimate(KEYS[1], KEYS[2]) + 1 > rpm then
  return 1
end
if tpm >= 0 then
  local used = estimate(KEYS[3], KEYS[4])
  if used > 0 and used + tokens > tpm then
    return 2
  end
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 120000)
if tpm >= 0 then
  redis.call('INCRBY', KEYS[3], tokens)
  redis.call('PEXPIRE', KEYS[3], 120000)
end
return 0
