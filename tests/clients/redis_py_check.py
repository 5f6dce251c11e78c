"""redis-py against a Ferrodis node, in RESP2 and RESP3.

Usage: python3 redis_py_check.py PORT
Exits non-zero (with the failing assertion) if any reply differs from what
redis-py users get from Redis 7.
"""
import sys

import redis


def check(protocol: int, port: int) -> None:
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
    assert r.ping() is True
    r.flushall()
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.get("missing") is None
    assert r.set("k", "w", nx=True) is None
    assert r.incr("n", 5) == 5
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "nope") == ["1", "2", None]
    assert r.expire("a", 100) is True
    assert 0 < r.ttl("a") <= 100
    assert r.type("a") == "string"
    assert r.exists("a", "b", "nope") == 2
    assert r.hset("h", mapping={"f1": "v1", "f2": "v2"}) == 2
    assert r.hgetall("h") == {"f1": "v1", "f2": "v2"}
    assert r.sadd("s", "x", "y") == 2
    assert r.smembers("s") == {"x", "y"}
    assert r.zadd("z", {"a": 1.5, "b": 2}) == 2
    # redis-py gives tuples in RESP2 and lists in RESP3, for Redis too.
    assert [tuple(x) for x in r.zrange("z", 0, -1, withscores=True)] == [("a", 1.5), ("b", 2.0)]
    assert r.zscore("z", "a") == 1.5
    with r.pipeline(transaction=True) as p:
        p.set("t", "1").incr("t").get("t")
        assert p.execute() == [True, 2, "2"]
    keys = set()
    for key in r.scan_iter(match="*", count=2):
        keys.add(key)
    assert {"k", "n", "f", "a", "b", "h", "s", "z", "t"} <= keys, keys
    try:
        r.execute_command("NOSUCHCOMMAND")
        raise AssertionError("unknown command must fail")
    except redis.ResponseError as e:
        assert "unknown command" in str(e)
    try:
        r.incr("k")
        raise AssertionError("INCR of a non-integer must fail")
    except redis.ResponseError as e:
        assert str(e) == "value is not an integer or out of range", str(e)
    info = r.info()
    assert info["redis_version"].startswith("7.")
    assert r.dbsize() >= 9
    ps = r.pubsub()
    ps.subscribe("ch")
    assert ps.get_message(timeout=1)["type"] == "subscribe"
    assert r.publish("ch", "hello") == 1
    msg = ps.get_message(timeout=1)
    assert msg is not None and msg["data"] == "hello", msg
    ps.close()
    r.close()


if __name__ == "__main__":
    port = int(sys.argv[1])
    for protocol in (2, 3):
        check(protocol, port)
    print("redis-py: RESP2 and RESP3 ok")
