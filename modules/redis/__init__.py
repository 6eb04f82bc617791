from modules.redis.construct import Redis, RedisProps

__all__ = ["Redis", "RedisProps"]
