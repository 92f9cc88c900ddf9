"""The local stack behind ``deploy/stack.py`` (standard library only), by subject.

``profiles`` (ports, directories, app environment), ``processes`` (pids, ports, waiting,
running tools), ``service`` (the Service base), ``postgres``, ``datastores`` (Redis, Memcached,
S3), ``app`` (Gunicorn, nginx, Celery), ``inventory`` (a profile's services), ``portplan``
(moving the ports off ones another process holds), ``startup`` (the ``up`` sequence) and
``commands`` (the command line).
"""
