-- Atomic, idempotent writes to one task's event log (design brief, decision 2).
-- KEYS: 1 task hash, 2 event stream, 3 history list, 4 artifact-chunk list, 5 push configs
-- (all in one hash slot; every key of these that exists gets its TTL refreshed), 6 the
-- bucket's push outbox (same slot; optional, never expires).
-- ARGV: 1 mode, 2 seq (-1 = next), 3 event JSON ('' = no stream entry),
--       4 final ('1' | '0'), 5 state ('' = unchanged), 6 status JSON ('' = unchanged),
--       7 number N of history messages that follow, 8 ttl seconds, 9 stream maxlen,
--       10 task JSON (create only), 11 ttl seconds once the task is final,
--       12 owning agent (create only) or the accepted message id (accept only),
--       13 .. 12+N messages to append to the history, then artifact chunks to append.
-- Modes: 'create' writes a new task (seq 0) unless it exists; 'append' publishes at seq
-- (dropped if seq is not new or the task is final); 'accept' takes a client's follow-up
-- into an interrupted task at the next seq (history, state, event, turn count) and is
-- dropped unless the task is interrupted right now, so one follow-up wins a race.
-- Returns {outcome, entry id, state, seq}: outcome 1 written, 0 dropped (duplicate, final
-- task, or not interrupted for 'accept'), -1 no such task; seq is the one written or, when
-- dropped, the task's last.
-- The state sets below are generated from a2a_gateway.core.states (stated once).
local terminal = {--[[TERMINAL]]}
local interrupted = {--[[INTERRUPTED]]}
local mode = ARGV[1]
local seq = tonumber(ARGV[2])
local current = redis.call('HMGET', KEYS[1], 'seq', 'last_id', 'state')
if mode == 'create' then
  if current[1] then
    return {0, current[2] or '', current[3] or '', tonumber(current[1])}
  end
  seq = 0
else
  if not current[1] then
    return {-1, '', '', -1}
  end
  local last = tonumber(current[1])
  if terminal[current[3]] then
    return {0, current[2] or '', current[3], last}
  end
  if mode == 'accept' then
    if not interrupted[current[3]] then
      return {0, current[2] or '', current[3], last}
    end
    seq = last + 1
  elseif seq < 0 then
    seq = last + 1
  elseif seq <= last then
    return {0, current[2] or '', current[3], last}
  end
end
local id = current[2] or ''
if ARGV[3] ~= '' then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*',
    'seq', seq, 'e', ARGV[3], 'f', ARGV[4])
end
redis.call('HSET', KEYS[1], 'seq', seq, 'last_id', id)
if mode == 'create' then
  redis.call('HSET', KEYS[1], 'task', ARGV[10], 'agent', ARGV[12], 'turns', 0)
elseif mode == 'accept' then
  redis.call('HINCRBY', KEYS[1], 'turns', 1)
  redis.call('HSET', KEYS[1], 'accepted_id', ARGV[12], 'accepted_seq', seq)
end
local state = current[3] or ''
if ARGV[5] ~= '' then
  state = ARGV[5]
  redis.call('HSET', KEYS[1], 'state', state)
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[6])
end
local history_end = 12 + tonumber(ARGV[7])
for i = 13, history_end do
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
for i = history_end + 1, #ARGV do
  redis.call('RPUSH', KEYS[4], ARGV[i])
end
-- A task with push configs entering a final or interrupted state (or any status update,
-- once a config asked for every one: 'push_all'): one outbox entry for this event
-- (written once, as the event is), naming the task by its key.
if KEYS[6] and ARGV[5] ~= '' and redis.call('HLEN', KEYS[5]) > 0
    and (terminal[state] or interrupted[state]
         or redis.call('HGET', KEYS[1], 'push_all') == '1') then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', 100000, '*',
    'k', KEYS[1], 's', seq, 'i', id, 'st', state)
end
local ttl = tonumber(ARGV[8])
if terminal[state] then
  ttl = tonumber(ARGV[11])
end
for i = 1, 5 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
return {1, id, state, seq}
