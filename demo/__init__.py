"""The demo: what `make run` starts with nothing configured. A simulated Mattermost per demo environment with its
search cluster and identity provider, and beside them real servers where this machine has them: PostgreSQL
holding Mattermost's schema filled from the simulator's data, Prometheus scraping the simulator, an LDAP
directory. Each part says whether it runs and, when it does not, the one command that adds it."""
