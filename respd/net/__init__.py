"""The network layer (trio): transports, the one client loop, the poller over it, listening/accepting, TLS."""
