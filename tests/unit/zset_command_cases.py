"""Sorted set commands as command cases (the format of ``command_cases``): run on memory and SQL stores by the unit
and SQL command tests, and on redis-server by ``tests/differential/test_tables_vs_redis.py``; every expected
byte string was recorded from redis-server 7.0.15 (``git show 7.0.15:src/t_zset.c`` for the order of checks).

Scores print as Redis 7.0 prints doubles (``%.17g``: 1.1 reads 1.1000000000000001), RESP3 answers doubles and
[member, score] pairs; bad input (non-float scores, NaN results, huge counts, wrong types) answers Redis' errors with
nothing changed."""
from __future__ import annotations

import re

#: HELLO 3's reply (its id varies)
_HELLO3 = re.compile(rb"%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$6\r\n7\.0\.15\r\n"
                     rb"\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n"
                     rb"\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n")
#: a listpack-sized sorted set at its limit: 128 members m000..m127 scored 0..127
_ZADD128 = ["ZADD", "big"] + [x for n in range(128) for x in (str(n), "m%03d" % n)]

ZSETS = {
    'basic': [
        ('ZADD z 1 a 2 b 3 c', b':3\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES', b'*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n'),
        ('ZSCORE z a', b'$1\r\n1\r\n'),
        ('ZADD z 1.1 d', b':1\r\n'),
        ('ZSCORE z d', b'$18\r\n1.1000000000000001\r\n'),
        ('ZRANK z d', b':1\r\n'),
        ('ZREVRANK z d', b':2\r\n'),
        ('ZCARD z', b':4\r\n'),
        ('TYPE z', b'+zset\r\n'),
        ('OBJECT ENCODING z', b'$8\r\nlistpack\r\n'),
        ('ZREM z a x', b':1\r\n'),
        ('ZRANGE z 0 -1', b'*3\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZINCRBY z 2.5 b', b'$3\r\n4.5\r\n'),
        ('ZMSCORE z b nope c', b'*3\r\n$3\r\n4.5\r\n$-1\r\n$1\r\n3\r\n'),
        ('ZCOUNT z -inf +inf', b':3\r\n'),
        ('ZCOUNT z (1.1 3', b':1\r\n'),
        ('ZRANGEBYSCORE z 2 +inf WITHSCORES LIMIT 0 1', b'*2\r\n$1\r\nc\r\n$1\r\n3\r\n'),
        ('ZREVRANGEBYSCORE z +inf -inf', b'*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n'),
        ('ZREVRANGE z 0 0 WITHSCORES', b'*2\r\n$1\r\nb\r\n$3\r\n4.5\r\n'),
        ('ZPOPMIN z', b'*2\r\n$1\r\nd\r\n$18\r\n1.1000000000000001\r\n'),
        ('ZPOPMAX z 5', b'*4\r\n$1\r\nb\r\n$3\r\n4.5\r\n$1\r\nc\r\n$1\r\n3\r\n'),
        ('EXISTS z', b':0\r\n'),
    ],
    'resp3': [
        ('HELLO 3', _HELLO3),
        ('ZADD z 1 a 2 b 3 c', b':3\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES', b'*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n'),
        ('ZSCORE z a', b',1\r\n'),
        ('ZPOPMIN z', b'*2\r\n$1\r\na\r\n,1\r\n'),
        ('ZPOPMIN z 1', b'*1\r\n*2\r\n$1\r\nb\r\n,2\r\n'),
        ('ZMPOP 1 z MAX', b'*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n'),
        ('ZRANDMEMBER z 1 WITHSCORES', b'*0\r\n'),
        ('ZUNION 1 z WITHSCORES', b'*0\r\n'),
        ('ZMSCORE z b', b'*1\r\n_\r\n'),
        ('ZINCRBY z 0.1 b', b',0.10000000000000001\r\n'),
        ('ZADD z INCR 1 b', b',1.1000000000000001\r\n'),
        ('ZSCAN z 0', b'*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$18\r\n1.1000000000000001\r\n'),
    ],
    'zadd-opts': [
        ('ZADD z XX 1 a', b':0\r\n'),
        ('EXISTS z', b':0\r\n'),
        ('ZADD z NX XX 1 a', b'-ERR XX and NX options at the same time are not compatible\r\n'),
        ('ZADD z GT LT 1 a', b'-ERR GT, LT, and/or NX options at the same time are not compatible\r\n'),
        ('ZADD z NX GT 1 a', b'-ERR GT, LT, and/or NX options at the same time are not compatible\r\n'),
        ('ZADD z INCR 1 a 2 b', b'-ERR INCR option supports a single increment-element pair\r\n'),
        ('ZADD z 1', b"-ERR wrong number of arguments for 'zadd' command\r\n"),
        ('ZADD z 1 a 2', b'-ERR syntax error\r\n'),
        ('ZADD z nan a', b'-ERR value is not a valid float\r\n'),
        ('ZADD z 1 a x b', b'-ERR value is not a valid float\r\n'),
        ('EXISTS z', b':0\r\n'),
        ('ZADD z 1 a', b':1\r\n'),
        ('ZADD z GT 0 a', b':0\r\n'),
        ('ZADD z GT CH 5 a', b':1\r\n'),
        ('ZADD z LT CH 5 a 1 b', b':1\r\n'),
        ('ZADD z XX INCR 1 c', b'$-1\r\n'),
        ('ZADD z NX INCR 1 a', b'$-1\r\n'),
        ('ZADD z GT INCR -1 a', b'$-1\r\n'),
        ('ZADD z inf a', b':0\r\n'),
        ('ZINCRBY z -inf a', b'-ERR resulting score is not a number (NaN)\r\n'),
        ('ZSCORE z a', b'$3\r\ninf\r\n'),
        ('ZINCRBY z incr a', b'-ERR syntax error\r\n'),
        ('ZINCRBY z nx a', b'-ERR syntax error\r\n'),
        ('ZADD z CH 5 a 1 b 7 c', b':2\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES', b'*6\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n5\r\n$1\r\nc\r\n$1\r\n7\r\n'),
    ],
    'floats': [
        ('ZADD z 0x10 a 1e-310 b -0 c 1e20 d 123456789012345678 e .5 f 5. g -inf h +inf i 1E3 j', b':10\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES',
         b'*20\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nb\r\n$23\r\n9.9999999999999694e-311\r\n$1'
         b'\r\nf\r\n$3\r\n0.5\r\n$1\r\ng\r\n$1\r\n5\r\n$1\r\na\r\n$2\r\n16\r\n$1\r\nj\r\n$4\r\n1000\r\n$1\r\ne'
         b'\r\n$22\r\n1.2345678901234568e+17\r\n$1\r\nd\r\n$5\r\n1e+20\r\n$1\r\ni\r\n$3\r\ninf\r\n'),
        ('ZSCAN z 0',
         b'*2\r\n$1\r\n0\r\n*20\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nb\r\n$23\r\n9.99999999999996'
         b'94e-311\r\n$1\r\nf\r\n$3\r\n0.5\r\n$1\r\ng\r\n$1\r\n5\r\n$1\r\na\r\n$2\r\n16\r\n$1\r\nj\r\n$4\r\n1000\r'
         b'\n$1\r\ne\r\n$18\r\n123456789012345680\r\n$1\r\nd\r\n$5\r\n1e+20\r\n$1\r\ni\r\n$3\r\ninf\r\n'),
        ('ZADD z " 1" x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z "1 " x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z 1e400 x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z 1e-400 x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z "" x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z 1_0 x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z infinity y', b':1\r\n'),
        ('ZADD z 0x x', b'-ERR value is not a valid float\r\n'),
        ('ZADD z 0x1p3 k', b':1\r\n'),
        ('ZSCORE z k', b'$1\r\n8\r\n'),
        ('ZINCRBY z2 -0 m', b'$2\r\n-0\r\n'),
        ('ZSCORE z2 m', b'$1\r\n0\r\n'),
        ('ZINCRBY z2 0.1 m', b'$19\r\n0.10000000000000001\r\n'),
        ('ZINCRBY z2 0.2 m', b'$19\r\n0.30000000000000004\r\n'),
    ],
    'ranges': [
        ('ZADD z 1 a 2 b 3 c 4 d 5 e', b':5\r\n'),
        ('ZRANGE z 1 3 BYSCORE', b'*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZRANGE z (1 (4 BYSCORE WITHSCORES', b'*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n'),
        ('ZRANGE z 4 1 BYSCORE REV', b'*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n'),
        ('ZRANGE z 4 1 BYSCORE REV LIMIT 1 2', b'*2\r\n$1\r\nc\r\n$1\r\nb\r\n'),
        ('ZRANGE z -inf +inf BYSCORE LIMIT 1 -1', b'*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n'),
        ('ZRANGE z -inf +inf BYSCORE LIMIT -1 2', b'*0\r\n'),
        ('ZRANGE z -inf +inf BYSCORE LIMIT 5 2', b'*0\r\n'),
        ('ZRANGE z 0 -1 LIMIT 0 1',
         b'-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or'
         b' BYLEX\r\n'),
        ('ZRANGE z 0 -1 LIMIT 0 -1', b'*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n'),
        ('ZRANGE z [a [c BYLEX', b'*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZRANGE z [a [c BYLEX WITHSCORES',
         b'-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n'),
        ('ZRANGE z 0 1 REV REV', b'-ERR syntax error\r\n'),
        ('ZRANGE z 0 1 BYSCORE BYLEX', b'-ERR syntax error\r\n'),
        ('ZRANGE z a b BYSCORE', b'-ERR min or max is not a float\r\n'),
        ('ZRANGE z "" " 3" BYSCORE', b'*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZRANGE z "  " 3 BYSCORE', b'-ERR min or max is not a float\r\n'),
        ('ZRANGE z ( 3 BYSCORE', b'*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZRANGE z 1e400 -1e400 BYSCORE REV', b'*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n'),
        ('ZRANGE z nan 3 BYSCORE', b'-ERR min or max is not a float\r\n'),
        ('ZRANGEBYSCORE z 1 3 REV', b'-ERR syntax error\r\n'),
        ('ZRANGEBYLEX z - + LIMIT 1 2', b'*2\r\n$1\r\nb\r\n$1\r\nc\r\n'),
        ('ZREVRANGEBYLEX z + - LIMIT 0 2', b'*2\r\n$1\r\ne\r\n$1\r\nd\r\n'),
        ('ZRANGEBYLEX z a c', b'-ERR min or max not valid string range item\r\n'),
        ('ZRANGEBYLEX z [a +x', b'-ERR min or max not valid string range item\r\n'),
        ('ZLEXCOUNT z (a [d', b':3\r\n'),
        ('ZLEXCOUNT z + -', b':0\r\n'),
        ('ZRANGE z 0 1 WITHSCORES LIMIT', b'-ERR syntax error\r\n'),
        ('ZRANGE z 0 x', b'-ERR value is not an integer or out of range\r\n'),
        ('ZRANGE z 1 2 BYSCORE LIMIT x 1', b'-ERR value is not an integer or out of range\r\n'),
        ('ZRANGE missing 0 -1', b'*0\r\n'),
        ('ZRANGE z -100 100', b'*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n'),
        ('ZRANGE z 3 1', b'*0\r\n'),
        ('ZREVRANGE z -2 -1', b'*2\r\n$1\r\nb\r\n$1\r\na\r\n'),
    ],
    'store': [
        ('ZADD z 1 a 2 b 3 c', b':3\r\n'),
        ('ZRANGESTORE d z 0 1', b':2\r\n'),
        ('ZRANGE d 0 -1 WITHSCORES', b'*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n'),
        ('ZRANGESTORE d z 5 6', b':0\r\n'),
        ('EXISTS d', b':0\r\n'),
        ('ZRANGESTORE d nope 0 -1', b':0\r\n'),
        ('SET s x', b'+OK\r\n'),
        ('ZRANGESTORE d s 0 -1', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZRANGESTORE s z 0 0', b':1\r\n'),
        ('TYPE s', b'+zset\r\n'),
        ('ZRANGESTORE d z 0 -1 WITHSCORES', b'-ERR syntax error\r\n'),
        ('ZRANGESTORE d z (1 +inf BYSCORE LIMIT 0 1', b':1\r\n'),
        ('ZRANGE d 0 -1', b'*1\r\n$1\r\nb\r\n'),
    ],
    'rem': [
        ('ZADD z 1 a 2 b 3 c 4 d 5 e', b':5\r\n'),
        ('ZREMRANGEBYRANK z 0 0', b':1\r\n'),
        ('ZREMRANGEBYSCORE z (2 3', b':1\r\n'),
        ('ZREMRANGEBYLEX z [d [e', b':2\r\n'),
        ('ZRANGE z 0 -1', b'*1\r\n$1\r\nb\r\n'),
        ('ZREMRANGEBYRANK z 0 -1', b':1\r\n'),
        ('EXISTS z', b':0\r\n'),
        ('ZREMRANGEBYRANK z x 1', b'-ERR value is not an integer or out of range\r\n'),
        ('ZREMRANGEBYSCORE z x 1', b'-ERR min or max is not a float\r\n'),
        ('ZREMRANGEBYLEX z x 1', b'-ERR min or max not valid string range item\r\n'),
        ('SET s 1', b'+OK\r\n'),
        ('ZREMRANGEBYRANK s 0 1', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZREMRANGEBYSCORE s x 1', b'-ERR min or max is not a float\r\n'),
    ],
    'algebra': [
        ('ZADD a 1 x 2 y 3 z', b':3\r\n'),
        ('ZADD b 10 y 20 z 30 w', b':3\r\n'),
        ('SADD s x w q', b':3\r\n'),
        ('ZUNION 2 a b WITHSCORES',
         b'*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n'),
        ('ZINTER 2 a b WITHSCORES', b'*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n'),
        ('ZDIFF 2 a b WITHSCORES', b'*2\r\n$1\r\nx\r\n$1\r\n1\r\n'),
        ('ZUNION 3 a b s WEIGHTS 1 2 3 AGGREGATE MAX WITHSCORES',
         b'*10\r\n$1\r\nq\r\n$1\r\n3\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\ny\r\n$2\r\n20\r\n$1\r\nz\r\n$2\r\n40\r\n$1'
         b'\r\nw\r\n$2\r\n60\r\n'),
        ('ZINTER 2 a s AGGREGATE MIN WITHSCORES', b'*2\r\n$1\r\nx\r\n$1\r\n1\r\n'),
        ('ZUNIONSTORE d 2 a b', b':4\r\n'),
        ('ZRANGE d 0 -1 WITHSCORES',
         b'*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n'),
        ('ZINTERSTORE d 2 a b WEIGHTS 2 0.5', b':2\r\n'),
        ('ZRANGE d 0 -1 WITHSCORES', b'*4\r\n$1\r\ny\r\n$1\r\n9\r\n$1\r\nz\r\n$2\r\n16\r\n'),
        ('ZDIFFSTORE d 2 a a', b':0\r\n'),
        ('EXISTS d', b':0\r\n'),
        ('ZINTERCARD 2 a b', b':2\r\n'),
        ('ZINTERCARD 2 a b LIMIT 1', b':1\r\n'),
        ('ZINTERCARD 0 a', b"-ERR at least 1 input key is needed for 'zintercard' command\r\n"),
        ('ZUNION 0 a', b"-ERR at least 1 input key is needed for 'zunion' command\r\n"),
        ('ZUNION 3 a b', b'-ERR syntax error\r\n'),
        ('ZUNION x a', b'-ERR value is not an integer or out of range\r\n'),
        ('SET str v', b'+OK\r\n'),
        ('ZUNION 2 a str', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZUNION 2 str a WEIGHTS', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZUNION 2 a b WEIGHTS 1', b'-ERR syntax error\r\n'),
        ('ZUNION 2 a b WEIGHTS 1 x', b'-ERR weight value is not a float\r\n'),
        ('ZUNION 2 a b AGGREGATE avg', b'-ERR syntax error\r\n'),
        ('ZDIFF 2 a b WEIGHTS 1 2', b'-ERR syntax error\r\n'),
        ('ZUNIONSTORE d 2 a b WITHSCORES', b'-ERR syntax error\r\n'),
        ('ZINTERCARD 1 a LIMIT -1', b"-ERR LIMIT can't be negative\r\n"),
        ('ZINTERCARD 1 a WITHSCORES', b'-ERR syntax error\r\n'),
        ('ZADD i 1 p', b':1\r\n'),
        ('ZADD j inf p', b':1\r\n'),
        ('ZADD k -inf p', b':1\r\n'),
        ('ZUNION 3 i j k WITHSCORES', b'*2\r\n$1\r\np\r\n$1\r\n0\r\n'),
        ('ZUNION 2 j k WEIGHTS 0 1 WITHSCORES', b'*2\r\n$1\r\np\r\n$4\r\n-inf\r\n'),
        ('ZINTER 2 j k WITHSCORES', b'*2\r\n$1\r\np\r\n$1\r\n0\r\n'),
        ('ZUNIONSTORE str 1 a', b':3\r\n'),
        ('TYPE str', b'+zset\r\n'),
        ('ZINTERSTORE d 2 a nothere', b':0\r\n'),
        ('EXISTS d', b':0\r\n'),
    ],
    'pops': [
        ('ZADD z 1 a 2 b 3 c', b':3\r\n'),
        ('ZPOPMIN z 0', b'*0\r\n'),
        ('ZPOPMIN z -1', b'-ERR value is out of range, must be positive\r\n'),
        ('ZPOPMIN z x', b'-ERR value is out of range, must be positive\r\n'),
        ('ZPOPMIN z 1 2', b'-ERR syntax error\r\n'),
        ('ZPOPMAX z 2', b'*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n'),
        ('ZMPOP 2 nope z MIN COUNT 10', b'*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('EXISTS z', b':0\r\n'),
        ('ZMPOP 1 z MIN', b'*-1\r\n'),
        ('ZMPOP 0 z MIN', b'-ERR numkeys should be greater than 0\r\n'),
        ('ZMPOP x z MIN', b'-ERR numkeys should be greater than 0\r\n'),
        ('ZMPOP 1 z', b"-ERR wrong number of arguments for 'zmpop' command\r\n"),
        ('ZMPOP 1 z LEFT', b'-ERR syntax error\r\n'),
        ('ZMPOP 1 z MIN COUNT 0', b'-ERR count should be greater than 0\r\n'),
        ('ZMPOP 1 z MIN COUNT 1 COUNT 1', b'-ERR syntax error\r\n'),
        ('ZMPOP 2 z', b"-ERR wrong number of arguments for 'zmpop' command\r\n"),
        ('SET s 1', b'+OK\r\n'),
        ('ZMPOP 2 nope s MIN', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZPOPMIN s', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZPOPMIN nope', b'*0\r\n'),
        ('ZPOPMIN nope 3', b'*0\r\n'),
    ],
    'rand': [
        ('ZRANDMEMBER nope', b'$-1\r\n'),
        ('ZRANDMEMBER nope 3', b'*0\r\n'),
        ('ZADD z 1 a', b':1\r\n'),
        ('ZRANDMEMBER z', b'$1\r\na\r\n'),
        ('ZRANDMEMBER z 5 WITHSCORES', b'*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('ZRANDMEMBER z -3', b'*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n'),
        ('ZRANDMEMBER z -3 WITHSCORES', b'*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('ZRANDMEMBER z 1 x', b'-ERR syntax error\r\n'),
        ('ZRANDMEMBER z -9223372036854775808',
         b'-ERR value is out of range, value must between -9223372036854775807 and 92233720'
         b'36854775807\r\n'),
        ('ZRANDMEMBER z 9223372036854775807 WITHSCORES', b'-ERR value is out of range\r\n'),
        ('ZRANDMEMBER z x', b'-ERR value is not an integer or out of range\r\n'),
        ('ZRANDMEMBER z 0', b'*0\r\n'),
    ],
    'scan': [
        ('ZADD z 1 a 2.5 b', b':2\r\n'),
        ('ZSCAN z 0', b'*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n'),
        ('ZSCAN z 0 MATCH a', b'*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('ZSCAN z 0 COUNT 0', b'-ERR syntax error\r\n'),
        ('ZSCAN z x', b'-ERR invalid cursor\r\n'),
        ('ZSCAN nope 0 COUNT 0', b'*2\r\n$1\r\n0\r\n*0\r\n'),
        ('SET s 1', b'+OK\r\n'),
        ('ZSCAN s 0', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
    ],
    'generic': [
        ('ZADD z 1 a', b':1\r\n'),
        ('EXPIRE z 100', b':1\r\n'),
        ('RENAME z y', b'+OK\r\n'),
        ('TYPE y', b'+zset\r\n'),
        ('SCAN 0 TYPE zset', b'*2\r\n$1\r\n0\r\n*1\r\n$1\r\ny\r\n'),
        ('SCAN 0 TYPE ZSET', b'*2\r\n$1\r\n0\r\n*1\r\n$1\r\ny\r\n'),
        ('COPY y c', b':1\r\n'),
        ('ZRANGE c 0 -1 WITHSCORES', b'*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('MOVE c 1', b':1\r\n'),
        ('SELECT 1', b'+OK\r\n'),
        ('ZSCORE c a', b'$1\r\n1\r\n'),
        ('OBJECT ENCODING c', b'$8\r\nlistpack\r\n'),
        ('DEL c', b':1\r\n'),
        ('SELECT 0', b'+OK\r\n'),
        ('DEL y', b':1\r\n'),
    ],
    'wrongtype': [
        ('SET s 1', b'+OK\r\n'),
        ('ZADD s 1 a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZSCORE s a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZCARD s', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZRANK s a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZRANGE s 0 -1', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZCOUNT s 0 1', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZMSCORE s a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZREM s a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZRANDMEMBER s', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZINCRBY s 1 a', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('ZADD s x a', b'-ERR value is not a valid float\r\n'),
        ('ZLEXCOUNT s - +', b'-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
        ('GET s', b'$1\r\n1\r\n'),
    ],
    'encoding-entries': [
        (_ZADD128, b':128\r\n'),
        ('OBJECT ENCODING big', b'$8\r\nlistpack\r\n'),
        ('ZADD big 200 m200', b':1\r\n'),
        ('OBJECT ENCODING big', b'$8\r\nskiplist\r\n'),
        ('ZPOPMAX big 100',
         b'*200\r\n$4\r\nm200\r\n$3\r\n200\r\n$4\r\nm127\r\n$3\r\n127\r\n$4\r\nm126\r\n$3\r\n126\r\n$4\r\nm125\r\n$3'
         b'\r\n125\r\n$4\r\nm124\r\n$3\r\n124\r\n$4\r\nm123\r\n$3\r\n123\r\n$4\r\nm122\r\n$3\r\n122\r\n$4\r\nm1'
         b'21\r\n$3\r\n121\r\n$4\r\nm120\r\n$3\r\n120\r\n$4\r\nm119\r\n$3\r\n119\r\n$4\r\nm118\r\n$3\r\n118\r\n'
         b'$4\r\nm117\r\n$3\r\n117\r\n$4\r\nm116\r\n$3\r\n116\r\n$4\r\nm115\r\n$3\r\n115\r\n$4\r\nm114\r\n$3\r'
         b'\n114\r\n$4\r\nm113\r\n$3\r\n113\r\n$4\r\nm112\r\n$3\r\n112\r\n$4\r\nm111\r\n$3\r\n111\r\n$4\r\nm11'
         b'0\r\n$3\r\n110\r\n$4\r\nm109\r\n$3\r\n109\r\n$4\r\nm108\r\n$3\r\n108\r\n$4\r\nm107\r\n$3\r\n107\r\n$'
         b'4\r\nm106\r\n$3\r\n106\r\n$4\r\nm105\r\n$3\r\n105\r\n$4\r\nm104\r\n$3\r\n104\r\n$4\r\nm103\r\n$3\r\n'
         b'103\r\n$4\r\nm102\r\n$3\r\n102\r\n$4\r\nm101\r\n$3\r\n101\r\n$4\r\nm100\r\n$3\r\n100\r\n$4\r\nm099'
         b'\r\n$2\r\n99\r\n$4\r\nm098\r\n$2\r\n98\r\n$4\r\nm097\r\n$2\r\n97\r\n$4\r\nm096\r\n$2\r\n96\r\n$4\r\nm0'
         b'95\r\n$2\r\n95\r\n$4\r\nm094\r\n$2\r\n94\r\n$4\r\nm093\r\n$2\r\n93\r\n$4\r\nm092\r\n$2\r\n92\r\n$4\r\n'
         b'm091\r\n$2\r\n91\r\n$4\r\nm090\r\n$2\r\n90\r\n$4\r\nm089\r\n$2\r\n89\r\n$4\r\nm088\r\n$2\r\n88\r\n$4'
         b'\r\nm087\r\n$2\r\n87\r\n$4\r\nm086\r\n$2\r\n86\r\n$4\r\nm085\r\n$2\r\n85\r\n$4\r\nm084\r\n$2\r\n84\r\n'
         b'$4\r\nm083\r\n$2\r\n83\r\n$4\r\nm082\r\n$2\r\n82\r\n$4\r\nm081\r\n$2\r\n81\r\n$4\r\nm080\r\n$2\r\n80'
         b'\r\n$4\r\nm079\r\n$2\r\n79\r\n$4\r\nm078\r\n$2\r\n78\r\n$4\r\nm077\r\n$2\r\n77\r\n$4\r\nm076\r\n$2\r\n'
         b'76\r\n$4\r\nm075\r\n$2\r\n75\r\n$4\r\nm074\r\n$2\r\n74\r\n$4\r\nm073\r\n$2\r\n73\r\n$4\r\nm072\r\n$2'
         b'\r\n72\r\n$4\r\nm071\r\n$2\r\n71\r\n$4\r\nm070\r\n$2\r\n70\r\n$4\r\nm069\r\n$2\r\n69\r\n$4\r\nm068\r\n'
         b'$2\r\n68\r\n$4\r\nm067\r\n$2\r\n67\r\n$4\r\nm066\r\n$2\r\n66\r\n$4\r\nm065\r\n$2\r\n65\r\n$4\r\nm064'
         b'\r\n$2\r\n64\r\n$4\r\nm063\r\n$2\r\n63\r\n$4\r\nm062\r\n$2\r\n62\r\n$4\r\nm061\r\n$2\r\n61\r\n$4\r\nm0'
         b'60\r\n$2\r\n60\r\n$4\r\nm059\r\n$2\r\n59\r\n$4\r\nm058\r\n$2\r\n58\r\n$4\r\nm057\r\n$2\r\n57\r\n$4\r\n'
         b'm056\r\n$2\r\n56\r\n$4\r\nm055\r\n$2\r\n55\r\n$4\r\nm054\r\n$2\r\n54\r\n$4\r\nm053\r\n$2\r\n53\r\n$4'
         b'\r\nm052\r\n$2\r\n52\r\n$4\r\nm051\r\n$2\r\n51\r\n$4\r\nm050\r\n$2\r\n50\r\n$4\r\nm049\r\n$2\r\n49\r\n'
         b'$4\r\nm048\r\n$2\r\n48\r\n$4\r\nm047\r\n$2\r\n47\r\n$4\r\nm046\r\n$2\r\n46\r\n$4\r\nm045\r\n$2\r\n45'
         b'\r\n$4\r\nm044\r\n$2\r\n44\r\n$4\r\nm043\r\n$2\r\n43\r\n$4\r\nm042\r\n$2\r\n42\r\n$4\r\nm041\r\n$2\r\n'
         b'41\r\n$4\r\nm040\r\n$2\r\n40\r\n$4\r\nm039\r\n$2\r\n39\r\n$4\r\nm038\r\n$2\r\n38\r\n$4\r\nm037\r\n$2'
         b'\r\n37\r\n$4\r\nm036\r\n$2\r\n36\r\n$4\r\nm035\r\n$2\r\n35\r\n$4\r\nm034\r\n$2\r\n34\r\n$4\r\nm033\r\n'
         b'$2\r\n33\r\n$4\r\nm032\r\n$2\r\n32\r\n$4\r\nm031\r\n$2\r\n31\r\n$4\r\nm030\r\n$2\r\n30\r\n$4\r\nm029'
         b'\r\n$2\r\n29\r\n'),
        ('ZCARD big', b':29\r\n'),
        ('ZRANGE big 0 2 WITHSCORES',
         b'*6\r\n$4\r\nm000\r\n$1\r\n0\r\n$4\r\nm001\r\n$1\r\n1\r\n$4\r\nm002\r\n$1\r\n2\r\n'),
        ('ZRANK big m020', b':20\r\n'),
        ('ZREVRANK big m020', b':8\r\n'),
        ('ZRANGE big 10 12 BYSCORE REV', b'*0\r\n'),
    ],
    'encoding-value': [
        (['ZADD', 'z', '1', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'], b':1\r\n'),
        ('OBJECT ENCODING z', b'$8\r\nlistpack\r\n'),
        (['ZADD', 'z', '2', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'], b':1\r\n'),
        ('OBJECT ENCODING z', b'$8\r\nskiplist\r\n'),
        (['ZREM', 'z', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'], b':1\r\n'),
        (['ZADD', 'w', '1', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'], b':1\r\n'),
        ('OBJECT ENCODING w', b'$8\r\nskiplist\r\n'),
        ('ZRANGESTORE d z 0 -1', b':1\r\n'),
        ('OBJECT ENCODING d', b'$8\r\nlistpack\r\n'),
        ('ZUNIONSTORE e 1 w', b':1\r\n'),
        ('OBJECT ENCODING e', b'$8\r\nskiplist\r\n'),
    ],
    'skiplist-negzero': [
        (['ZADD', 'z', '-0', 'a', '1', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
         b':2\r\n'),
        ('ZSCORE z a', b'$1\r\n0\r\n'),
        ('ZINCRBY z -0 a', b'$1\r\n0\r\n'),
        ('ZRANGE z 0 0 WITHSCORES', b'*2\r\n$1\r\na\r\n$1\r\n0\r\n'),
    ],
    'lex-binary': [
        (['ZADD', 'z', '0', '', '0', 'a', '0', 'ab', '0', b'\x00', '0', b'\xff', '0', 'b'], b':6\r\n'),
        ('ZRANGE z - + BYLEX', b'*6\r\n$0\r\n\r\n$1\r\n\x00\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\n\xff\r\n'),
        ('ZRANGEBYLEX z [a (b', b'*2\r\n$1\r\na\r\n$2\r\nab\r\n'),
        ('ZRANGEBYLEX z (a +', b'*3\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\n\xff\r\n'),
        (['ZRANGEBYLEX', 'z', '[', '[a'], b'*3\r\n$0\r\n\r\n$1\r\n\x00\r\n$1\r\na\r\n'),
        ('ZRANGEBYLEX z - [', b'*1\r\n$0\r\n\r\n'),
        ('ZREVRANGEBYLEX z [b [a', b'*3\r\n$1\r\nb\r\n$2\r\nab\r\n$1\r\na\r\n'),
        ('ZLEXCOUNT z - +', b':6\r\n'),
        ('ZLEXCOUNT z [b [a', b':0\r\n'),
        ('ZRANGEBYLEX z ++ -', b'-ERR min or max not valid string range item\r\n'),
        ('ZRANGEBYLEX z -a +', b'-ERR min or max not valid string range item\r\n'),
        ('ZRANGEBYLEX z "" +', b'-ERR min or max not valid string range item\r\n'),
        ('ZREMRANGEBYLEX z - (a', b':2\r\n'),
        ('ZRANGE z 0 -1', b'*4\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\n\xff\r\n'),
    ],
    'ties': [
        ('ZADD z 1 b 1 a 1 c 0 d 2 aa 1 ab', b':6\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES',
         b'*12\r\n$1\r\nd\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r'
         b'\nc\r\n$1\r\n1\r\n$2\r\naa\r\n$1\r\n2\r\n'),
        ('ZRANK z ab', b':2\r\n'),
        ('ZREVRANGE z 0 -1', b'*6\r\n$2\r\naa\r\n$1\r\nc\r\n$1\r\nb\r\n$2\r\nab\r\n$1\r\na\r\n$1\r\nd\r\n'),
    ],
    'multi-watch': [
        ('ZADD z 1 a', b':1\r\n'),
        ('WATCH z', b'+OK\r\n'),
        ('ZADD z NX 1 a', b':0\r\n'),
        ('ZREM z nope', b':0\r\n'),
        ('ZADD z 1 a', b':0\r\n'),
        ('MULTI', b'+OK\r\n'),
        ('ZCARD z', b'+QUEUED\r\n'),
        ('EXEC', b'*1\r\n:1\r\n'),
        ('WATCH z', b'+OK\r\n'),
        ('ZINCRBY z 0 a', b'$1\r\n1\r\n'),
        ('MULTI', b'+OK\r\n'),
        ('PING', b'+QUEUED\r\n'),
        ('EXEC', b'*1\r\n+PONG\r\n'),
        ('MULTI', b'+OK\r\n'),
        ('ZADD z 2 b', b'+QUEUED\r\n'),
        ('ZPOPMIN z', b'+QUEUED\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES', b'+QUEUED\r\n'),
        ('EXEC', b'*3\r\n:1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'),
    ],
    'lua': [
        ('ZADD z 1.5 a 2 b', b':2\r\n'),
        ('EVAL "return redis.call(\'ZRANGE\', KEYS[1], 0, -1, \'WITHSCORES\')" 1 z',
         b'*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n'),
        ('EVAL "return redis.call(\'ZSCORE\', KEYS[1], \'a\')" 1 z', b'$3\r\n1.5\r\n'),
        ('EVAL "redis.setresp(3); return redis.call(\'ZSCORE\', KEYS[1], \'a\')" 1 z', b'$3\r\n1.5\r\n'),
        ('EVAL "redis.setresp(3); return redis.call(\'ZRANGE\', KEYS[1], 0, -1, \'WITHSCORES\')" 1 z',
         b'*2\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'),
        ('HELLO 3', _HELLO3),
        ('EVAL "redis.setresp(3); return redis.call(\'ZPOPMIN\', KEYS[1], 1)" 1 z',
         b'*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n'),
        ('EVAL_RO "return redis.call(\'ZADD\', KEYS[1], 1, \'x\')" 1 z',
         b'-ERR Write commands are not allowed from read-only scripts. script: 1298a0046693'
         b'97449ff17fa84f16cd3bbf02024e, on @user_script:1.\r\n'),
        ('EVAL "return redis.call(\'ZMPOP\', 1, KEYS[1], \'MAX\')" 1 z',
         b'*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'),
    ],
    'huge': [
        ('ZADD z 1 a', b':1\r\n'),
        ('ZPOPMIN z 9223372036854775807', b'*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('ZADD z 1 a', b':1\r\n'),
        ('ZPOPMIN z 9223372036854775808', b'-ERR value is out of range, must be positive\r\n'),
        ('ZMPOP 1 z MIN COUNT 9223372036854775807', b'*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
        ('ZADD z 1 a', b':1\r\n'),
        ('ZRANGE z 0 9223372036854775807', b'*1\r\n$1\r\na\r\n'),
        ('ZRANGE z -9223372036854775808 9223372036854775807', b'*1\r\n$1\r\na\r\n'),
        ('ZRANGE z -inf +inf BYSCORE LIMIT 9223372036854775807 9223372036854775807', b'*0\r\n'),
        ('ZREMRANGEBYRANK z -9223372036854775808 -9223372036854775808', b':0\r\n'),
        ('ZMPOP 9223372036854775807 z MIN', b'-ERR syntax error\r\n'),
        ('ZUNION 9223372036854775807 z', b'-ERR syntax error\r\n'),
        ('ZRANDMEMBER z 9223372036854775807', b'*1\r\n$1\r\na\r\n'),
        ('ZRANDMEMBER z -4611686018427387904 WITHSCORES', b'-ERR value is out of range\r\n'),
        ('ZRANDMEMBER z 4611686018427387903 WITHSCORES', b'*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
    ],
    'arity': [
        ('ZADD z', b"-ERR wrong number of arguments for 'zadd' command\r\n"),
        ('ZADD z 1', b"-ERR wrong number of arguments for 'zadd' command\r\n"),
        ('ZINCRBY z 1', b"-ERR wrong number of arguments for 'zincrby' command\r\n"),
        ('ZREM z', b"-ERR wrong number of arguments for 'zrem' command\r\n"),
        ('ZCARD', b"-ERR wrong number of arguments for 'zcard' command\r\n"),
        ('ZSCORE z', b"-ERR wrong number of arguments for 'zscore' command\r\n"),
        ('ZMSCORE z', b"-ERR wrong number of arguments for 'zmscore' command\r\n"),
        ('ZRANK z', b"-ERR wrong number of arguments for 'zrank' command\r\n"),
        ('ZCOUNT z 1', b"-ERR wrong number of arguments for 'zcount' command\r\n"),
        ('ZRANGE z 0', b"-ERR wrong number of arguments for 'zrange' command\r\n"),
        ('ZRANGESTORE d z 0', b"-ERR wrong number of arguments for 'zrangestore' command\r\n"),
        ('ZPOPMIN', b"-ERR wrong number of arguments for 'zpopmin' command\r\n"),
        ('ZMPOP 1 z', b"-ERR wrong number of arguments for 'zmpop' command\r\n"),
        ('ZRANDMEMBER', b"-ERR wrong number of arguments for 'zrandmember' command\r\n"),
        ('ZUNION 1', b"-ERR wrong number of arguments for 'zunion' command\r\n"),
        ('ZUNIONSTORE d 1', b"-ERR wrong number of arguments for 'zunionstore' command\r\n"),
        ('ZINTERCARD 1', b"-ERR wrong number of arguments for 'zintercard' command\r\n"),
        ('ZSCAN z', b"-ERR wrong number of arguments for 'zscan' command\r\n"),
        ('ZREMRANGEBYRANK z 0', b"-ERR wrong number of arguments for 'zremrangebyrank' command\r\n"),
        ('ZLEXCOUNT z -', b"-ERR wrong number of arguments for 'zlexcount' command\r\n"),
    ],
    'encoding-stays-skiplist': [
        (['ZADD', 'z', '1', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
          '2', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'], b':2\r\n'),
        ('OBJECT ENCODING z', b'$8\r\nskiplist\r\n'),
        (['ZREM', 'z', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'], b':1\r\n'),
        ('OBJECT ENCODING z', b'$8\r\nskiplist\r\n'),
        (_ZADD128, b':128\r\n'),
        ('ZADD big 200 m200', b':1\r\n'),
        ('ZPOPMAX big 100',
         b'*200\r\n$4\r\nm200\r\n$3\r\n200\r\n$4\r\nm127\r\n$3\r\n127\r\n$4\r\nm126\r\n$3\r\n126\r\n$4\r\nm125\r\n$3'
         b'\r\n125\r\n$4\r\nm124\r\n$3\r\n124\r\n$4\r\nm123\r\n$3\r\n123\r\n$4\r\nm122\r\n$3\r\n122\r\n$4\r\nm1'
         b'21\r\n$3\r\n121\r\n$4\r\nm120\r\n$3\r\n120\r\n$4\r\nm119\r\n$3\r\n119\r\n$4\r\nm118\r\n$3\r\n118\r\n'
         b'$4\r\nm117\r\n$3\r\n117\r\n$4\r\nm116\r\n$3\r\n116\r\n$4\r\nm115\r\n$3\r\n115\r\n$4\r\nm114\r\n$3\r'
         b'\n114\r\n$4\r\nm113\r\n$3\r\n113\r\n$4\r\nm112\r\n$3\r\n112\r\n$4\r\nm111\r\n$3\r\n111\r\n$4\r\nm11'
         b'0\r\n$3\r\n110\r\n$4\r\nm109\r\n$3\r\n109\r\n$4\r\nm108\r\n$3\r\n108\r\n$4\r\nm107\r\n$3\r\n107\r\n$'
         b'4\r\nm106\r\n$3\r\n106\r\n$4\r\nm105\r\n$3\r\n105\r\n$4\r\nm104\r\n$3\r\n104\r\n$4\r\nm103\r\n$3\r\n'
         b'103\r\n$4\r\nm102\r\n$3\r\n102\r\n$4\r\nm101\r\n$3\r\n101\r\n$4\r\nm100\r\n$3\r\n100\r\n$4\r\nm099'
         b'\r\n$2\r\n99\r\n$4\r\nm098\r\n$2\r\n98\r\n$4\r\nm097\r\n$2\r\n97\r\n$4\r\nm096\r\n$2\r\n96\r\n$4\r\nm0'
         b'95\r\n$2\r\n95\r\n$4\r\nm094\r\n$2\r\n94\r\n$4\r\nm093\r\n$2\r\n93\r\n$4\r\nm092\r\n$2\r\n92\r\n$4\r\n'
         b'm091\r\n$2\r\n91\r\n$4\r\nm090\r\n$2\r\n90\r\n$4\r\nm089\r\n$2\r\n89\r\n$4\r\nm088\r\n$2\r\n88\r\n$4'
         b'\r\nm087\r\n$2\r\n87\r\n$4\r\nm086\r\n$2\r\n86\r\n$4\r\nm085\r\n$2\r\n85\r\n$4\r\nm084\r\n$2\r\n84\r\n'
         b'$4\r\nm083\r\n$2\r\n83\r\n$4\r\nm082\r\n$2\r\n82\r\n$4\r\nm081\r\n$2\r\n81\r\n$4\r\nm080\r\n$2\r\n80'
         b'\r\n$4\r\nm079\r\n$2\r\n79\r\n$4\r\nm078\r\n$2\r\n78\r\n$4\r\nm077\r\n$2\r\n77\r\n$4\r\nm076\r\n$2\r\n'
         b'76\r\n$4\r\nm075\r\n$2\r\n75\r\n$4\r\nm074\r\n$2\r\n74\r\n$4\r\nm073\r\n$2\r\n73\r\n$4\r\nm072\r\n$2'
         b'\r\n72\r\n$4\r\nm071\r\n$2\r\n71\r\n$4\r\nm070\r\n$2\r\n70\r\n$4\r\nm069\r\n$2\r\n69\r\n$4\r\nm068\r\n'
         b'$2\r\n68\r\n$4\r\nm067\r\n$2\r\n67\r\n$4\r\nm066\r\n$2\r\n66\r\n$4\r\nm065\r\n$2\r\n65\r\n$4\r\nm064'
         b'\r\n$2\r\n64\r\n$4\r\nm063\r\n$2\r\n63\r\n$4\r\nm062\r\n$2\r\n62\r\n$4\r\nm061\r\n$2\r\n61\r\n$4\r\nm0'
         b'60\r\n$2\r\n60\r\n$4\r\nm059\r\n$2\r\n59\r\n$4\r\nm058\r\n$2\r\n58\r\n$4\r\nm057\r\n$2\r\n57\r\n$4\r\n'
         b'm056\r\n$2\r\n56\r\n$4\r\nm055\r\n$2\r\n55\r\n$4\r\nm054\r\n$2\r\n54\r\n$4\r\nm053\r\n$2\r\n53\r\n$4'
         b'\r\nm052\r\n$2\r\n52\r\n$4\r\nm051\r\n$2\r\n51\r\n$4\r\nm050\r\n$2\r\n50\r\n$4\r\nm049\r\n$2\r\n49\r\n'
         b'$4\r\nm048\r\n$2\r\n48\r\n$4\r\nm047\r\n$2\r\n47\r\n$4\r\nm046\r\n$2\r\n46\r\n$4\r\nm045\r\n$2\r\n45'
         b'\r\n$4\r\nm044\r\n$2\r\n44\r\n$4\r\nm043\r\n$2\r\n43\r\n$4\r\nm042\r\n$2\r\n42\r\n$4\r\nm041\r\n$2\r\n'
         b'41\r\n$4\r\nm040\r\n$2\r\n40\r\n$4\r\nm039\r\n$2\r\n39\r\n$4\r\nm038\r\n$2\r\n38\r\n$4\r\nm037\r\n$2'
         b'\r\n37\r\n$4\r\nm036\r\n$2\r\n36\r\n$4\r\nm035\r\n$2\r\n35\r\n$4\r\nm034\r\n$2\r\n34\r\n$4\r\nm033\r\n'
         b'$2\r\n33\r\n$4\r\nm032\r\n$2\r\n32\r\n$4\r\nm031\r\n$2\r\n31\r\n$4\r\nm030\r\n$2\r\n30\r\n$4\r\nm029'
         b'\r\n$2\r\n29\r\n'),
        ('OBJECT ENCODING big', b'$8\r\nskiplist\r\n'),
        ('COPY z c', b':1\r\n'),
        ('OBJECT ENCODING c', b'$8\r\nskiplist\r\n'),
    ],
    'getkeys': [
        ('COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2', b'*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZUNIONSTORE d 2 a b',
         b'*3\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\n'
         b'b\r\n*2\r\n+RO\r\n+access\r\n'),
        ('COMMAND GETKEYS ZRANGESTORE d s 0 1', b'*2\r\n$1\r\nd\r\n$1\r\ns\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZMPOP 2 a b MIN',
         b'*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*3\r\n+RW\r\n+access\r\n+del'
         b'ete\r\n'),
        ('COMMAND GETKEYS ZINTERCARD 2 a b LIMIT 1', b'*2\r\n$1\r\na\r\n$1\r\nb\r\n'),
        ('COMMAND GETKEYS ZDIFF 1 a', b'*1\r\n$1\r\na\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZADD z 1 a', b'*1\r\n*2\r\n$1\r\nz\r\n*2\r\n+RW\r\n+update\r\n'),
        ('COMMAND GETKEYS ZUNION 0 a', b'-ERR Invalid arguments specified for command\r\n'),
        ('COMMAND GETKEYS ZUNION 3 a', b'-ERR Invalid arguments specified for command\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZPOPMIN z', b'*1\r\n*2\r\n$1\r\nz\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZRANGE z 0 1', b'*1\r\n*2\r\n$1\r\nz\r\n*2\r\n+RO\r\n+access\r\n'),
        ('COMMAND GETKEYSANDFLAGS ZINCRBY z 1 a', b'*1\r\n*2\r\n$1\r\nz\r\n*3\r\n+RW\r\n+access\r\n+update\r\n'),
    ],
    'multi-errors': [
        ('MULTI', b'+OK\r\n'),
        ('ZADD z 1', b"-ERR wrong number of arguments for 'zadd' command\r\n"),
        ('ZADD z 1 a', b'+QUEUED\r\n'),
        ('EXEC', b'-EXECABORT Transaction discarded because of previous errors.\r\n'),
        ('MULTI', b'+OK\r\n'),
        ('ZADD z x a', b'+QUEUED\r\n'),
        ('ZADD z 1 a', b'+QUEUED\r\n'),
        ('ZINCRBY z nan a', b'+QUEUED\r\n'),
        ('EXEC', b'*3\r\n-ERR value is not a valid float\r\n:1\r\n-ERR value is not a valid float\r\n'),
        ('ZRANGE z 0 -1 WITHSCORES', b'*2\r\n$1\r\na\r\n$1\r\n1\r\n'),
    ],
}
