-- Atomic, idempotent append to one task's event log (design brief, decision 2).
-- KEYS: 1 task hash, 2 event stream, 3 history list, 4 artifact-chunk list, 5 push configs
-- (all in one hash slot; every key that exists gets its TTL refreshed).
-- ARGV: 1 mode ('create' | 'append'), 2 seq (-1 = next), 3 event JSON ('' = no stream entry),
--       4 final ('1' | '0'), 5 state ('' = unchanged), 6 status JSON ('' = unchanged),
--       7 number N of history messages that follow, 8 ttl seconds, 9 stream maxlen,
--       10 task JSON (create only), 11 ttl seconds once the task is final,
--       12 .. 11+N messages to append to the history, then artifact chunks to append.
-- Returns {outcome, entry id, state}: outcome 1 appended, 0 dropped as a duplicate or
-- because the task is already final, -1 no such task.
local terminal = {completed = true, canceled = true, failed = true, rejected = true}
local mode = ARGV[1]
local seq = tonumber(ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'seq', 'last_id', 'state')
if mode == 'create' then
  if current[1] then
    return {0, current[2] or '', current[3] or ''}
  end
  seq = 0
else
  if not current[1] then
    return {-1, '', ''}
  end
  local last = tonumber(current[1])
  if terminal[current[3]] then
    return {0, current[2] or '', current[3]}
  end
  if seq < 0 then
    seq = last + 1
  elseif seq <= last then
    return {0, current[2] or '', current[3]}
  end
end
local id = current[2] or ''
if ARGV[3] ~= '' then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*',
    'seq', seq, 'e', ARGV[3], 'f', ARGV[4])
end
redis.call('HSET', KEYS[1], 'seq', seq, 'last_id', id)
if mode == 'create' then
  redis.call('HSET', KEYS[1], 'task', ARGV[10])
end
local state = current[3] or ''
if ARGV[5] ~= '' then
  state = ARGV[5]
  redis.call('HSET', KEYS[1], 'state', state)
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[6])
end
local history_end = 11 + tonumber(ARGV[7])
for i = 12, history_end do
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
for i = history_end + 1, #ARGV do
  redis.call('RPUSH', KEYS[4], ARGV[i])
end
local ttl = tonumber(ARGV[8])
if terminal[state] then
  ttl = tonumber(ARGV[11])
end
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return {1, id, state}
