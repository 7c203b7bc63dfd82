"""respd: a Redis-protocol server on trio serving keys from registry-defined stores."""

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
