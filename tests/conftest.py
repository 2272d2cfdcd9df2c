"""Shared fixtures: real servers started by the tests themselves, on 127.0.0.1 only."""

pytest_plugins = [
    "tests.servers.postgres",
    "tests.servers.simulator",
    "tests.servers.slapd",
    "tests.servers.prometheus",
    "tests.servers.stores",
]
