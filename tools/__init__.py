"""Developer tooling: the embedded PostgreSQL, ``with_db`` and the ``make run`` supervisor."""
