"""Tools for developers' processes (tests, benchmarks): never imported by the apps or
``config``, which run in production without them."""
