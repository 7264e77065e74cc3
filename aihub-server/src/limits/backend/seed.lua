-- Creates a spend counter with what the database says was used, unless it already exists.
--
-- KEYS: counter hash, its leases zset, its reservations hash.
-- ARGV: used, expires_at_ms as text, pexpireat or 0, seeded_ms (the caller's now: settlements
--       of requests that ended before it add their use; later ones are in the records read).
-- Reply: {1} when created, {0} when the counter already existed.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0}
end
-- Reservations without their counter (an eviction, say) would never be released: drop them.
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'r', '0', 'x', ARGV[2], 's', ARGV[4])
if tonumber(ARGV[3]) ~= 0 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return {1}
