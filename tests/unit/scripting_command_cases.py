"""EVAL, EVALSHA, SCRIPT and redis.call's refusals as command cases (the format of ``command_cases``): run on
memory and SQL stores by the unit and SQL command tests, and on redis-server by
``tests/differential/test_tables_vs_redis.py``; every expected byte string was recorded from redis-server 7.0.15."""
from __future__ import annotations

SCRIPTING = {
    # redis.call runs commands in the script's protocol: after redis.setresp(3) HRANDFIELD ... WITHVALUES answers
    # pairs (respd's script session stayed in RESP2 and answered a flat array), HGETALL a map
    'setresp3-command-shapes': [
        ('HSET h a 1', b':1\r\n'),
        ('EVAL "redis.setresp(3); local r = redis.call(\'hrandfield\', KEYS[1], 1, \'withvalues\'); '
         'return {type(r[1]), r[1][1], r[1][2]}" 1 h', b'*3\r\n$5\r\ntable\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('EVAL "local r = redis.call(\'hrandfield\', KEYS[1], 1, \'withvalues\'); return {type(r[1]), r[1], r[2]}" 1 h',
         b'*3\r\n$6\r\nstring\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('EVAL "redis.setresp(3); return redis.call(\'hgetall\', KEYS[1]).map.a" 1 h', b'$1\r\n1\r\n'),
    ],
    'eval-basics': [
        ('EVAL "return {KEYS[1], ARGV[1], #KEYS, #ARGV}" 1 k a b', b'*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n'),
        ('EVAL "return redis.call(\'set\', KEYS[1], ARGV[1])" 1 k v', b'+OK\r\n'),
        ('EVAL "return redis.call(\'get\', KEYS[1])" 1 k', b'$1\r\nv\r\n'),
        ('GET k', b'$1\r\nv\r\n'),
    ],
    'eval-numkeys': [
        ('EVAL "return 1"', b"-ERR wrong number of arguments for 'eval' command\r\n"),
        ('EVAL "return 1" x', b'-ERR value is not an integer or out of range\r\n'),
        ('EVAL "return 1" 2 a', b"-ERR Number of keys can't be greater than number of args\r\n"),
        ('EVAL "return 1" -1', b"-ERR Number of keys can't be negative\r\n"),
        ('EVAL "return 1" 99999999999999999999', b'-ERR value is not an integer or out of range\r\n'),
    ],
    'evalsha-and-script-load': [
        ('SCRIPT LOAD "return ARGV[1]"', b'$40\r\n098e0f0d1448c0a81dafe820f66d460eb09263da\r\n'),
        ('EVALSHA 4c6b1d3d5f05d3fa8b2eb7b6e2b8a4e0bff6a38a 0', b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
        ('EVALSHA abc 0', b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
        ('EVALSHA_RO 4c6b1d3d5f05d3fa8b2eb7b6e2b8a4e0bff6a38a 0',
         b'-NOSCRIPT No matching script. Please use EVAL.\r\n'),
        ('SCRIPT EXISTS 0000000000000000000000000000000000000000', b'*1\r\n:0\r\n'),
    ],
    'script-subcommands': [
        ('SCRIPT', b"-ERR wrong number of arguments for 'script' command\r\n"),
        ('SCRIPT NOPE', b"-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"),
        ('SCRIPT FLUSH x', b'-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n'),
        ('SCRIPT FLUSH SYNC', b'+OK\r\n'),
        ('SCRIPT FLUSH ASYNC', b'+OK\r\n'),
        ('SCRIPT FLUSH', b'+OK\r\n'),
        ('SCRIPT KILL', b'-NOTBUSY No scripts in execution right now.\r\n'),
        ('SCRIPT LOAD', b"-ERR wrong number of arguments for 'script|load' command\r\n"),
        ('SCRIPT EXISTS', b"-ERR wrong number of arguments for 'script|exists' command\r\n"),
        ('SCRIPT LOAD "return ("',
         b"-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"),
    ],
    'calls-refused-inside': [
        ('EVAL "return redis.call(\'nosuch\')" 0',
         b'-ERR Unknown Redis command called from script script: 206396248e12c6e742fd729625'
         b'0433c8d7343b74, on @user_script:1.\r\n'),
        ('EVAL "return redis.pcall(\'get\')" 0', b'-ERR Wrong number of args calling Redis command from script\r\n'),
        ('EVAL "return redis.pcall(\'multi\')" 0', b'-ERR This Redis command is not allowed from script\r\n'),
        ('EVAL "return redis.pcall(\'eval\', \'return 1\', 0)" 0',
         b'-ERR This Redis command is not allowed from script\r\n'),
        ('EVAL_RO "return redis.pcall(\'set\', \'a\', \'b\')" 0',
         b'-ERR Write commands are not allowed from read-only scripts.\r\n'),
        ('EVAL_RO "return redis.call(\'get\', \'a\')" 0', b'$-1\r\n'),
    ],
    'shebang': [
        ('EVAL "#!lua flags=no-writes\nreturn redis.pcall(\'set\',\'a\',\'b\')" 0',
         b'-ERR Write commands are not allowed from read-only scripts.\r\n'),
        ('EVAL_RO "#!lua\nreturn 1" 0', b'-ERR Can not execute a script with write flag using *_ro command.\r\n'),
        ('EVAL_RO "#!lua flags=no-writes\nreturn 2" 0', b':2\r\n'),
        ('EVAL "#!lua flags=bogus\nreturn 1" 0', b'-ERR Unexpected flag in script shebang: bogus\r\n'),
        ('EVAL "#!python\nreturn 1" 0', b'-ERR Unexpected engine in script shebang: #!python\r\n'),
        ('EVAL "#!lua x=y\nreturn 1" 0', b'-ERR Unknown lua shebang option: x=y\r\n'),
    ],
    'script-errors-reach-client': [
        ('SET s x', b'+OK\r\n'),
        ('EVAL "return redis.call(\'incr\', \'s\')" 0',
         b'-ERR value is not an integer or out of range script: 70abbef89e172316f9219e67e31'
         b'3f248a5b98d9b, on @user_script:1.\r\n'),
        ('EVAL "local v = redis.call(\'incr\', \'s\') return v" 0',
         b'-ERR value is not an integer or out of range script: 494359fc84141c8151295b7216b'
         b'3477fa905c215, on @user_script:1.\r\n'),
        ('EVAL "return redis.pcall(\'incr\', \'s\')" 0', b'-ERR value is not an integer or out of range\r\n'),
        ('EVAL "return redis.error_reply(\'MY oops\')" 0', b'-MY oops\r\n'),
        ('EVAL "error(\'boom\')" 0',
         b'-ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.\r\n'),
    ],
    'getkeys-eval': [
        ('COMMAND GETKEYS EVAL "return 1" 2 a b c', b'*2\r\n$1\r\na\r\n$1\r\nb\r\n'),
        ('COMMAND GETKEYS EVALSHA x 1 a b', b'*1\r\n$1\r\na\r\n'),
        ('COMMAND GETKEYS EVAL "return 1" 0', b'*0\r\n'),
    ],
    'eval-in-multi': [
        ('MULTI', b'+OK\r\n'),
        ('EVAL "return redis.call(\'set\', \'a\', \'1\')" 0', b'+QUEUED\r\n'),
        ('EVAL "return redis.call(\'incr\', \'a\')" 0', b'+QUEUED\r\n'),
        ('EXEC', b'*2\r\n+OK\r\n:2\r\n'),
    ],
    'select-inside-script': [
        ('SET a zero', b'+OK\r\n'),
        ('EVAL "redis.call(\'select\', 1) redis.call(\'set\', \'a\', \'one\') return redis.call(\'get\', \'a\')" 0',
         b'$3\r\none\r\n'),
        ('GET a', b'$4\r\nzero\r\n'),
        ('SELECT 1', b'+OK\r\n'),
        ('GET a', b'$3\r\none\r\n'),
    ],
}
