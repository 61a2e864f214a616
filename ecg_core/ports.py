"""A free TCP port on this machine: for a training run's rendezvous and a local server's address."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
