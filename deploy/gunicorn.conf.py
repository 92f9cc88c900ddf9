"""Gunicorn settings for the instaclone web processes.

Used by the local stack (deploy/stack.py passes ``-c deploy/gunicorn.conf.py`` plus ``--bind``,
``--pid`` and log paths on the command line, which win over the values here) and by the systemd
units in deploy/systemd/. Everything a host may want to change comes from the environment:

    GUNICORN_BIND             address to listen on (default 127.0.0.1:8000)
    GUNICORN_WORKERS          worker processes (default 2)
    GUNICORN_ACCESS_LOG       access log path, "-" for stdout (default "-")
    GUNICORN_ERROR_LOG        error log path, "-" for stderr (default "-")
    GUNICORN_CONTROL_SOCKET   control socket path for gunicornc (gunicorn >= 25); when unset the
                              control socket is disabled, since its default path is shared by
                              every Gunicorn of the user and several run side by side here.
"""

import os
import re

from gunicorn.glogging import Logger

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"

# A request that takes longer than this is killed; nginx gives up a little later (35 s).
timeout = 30
# SIGTERM/HUP: workers get this long to finish the request in hand.
graceful_timeout = 10
keepalive = 2

# Recycle workers now and then so a slow leak cannot grow forever; the jitter keeps the workers
# of one master from restarting at the same moment.
# At a few hundred requests a second a worker serves 1,000 in seconds, so the bound is higher
# and the jitter wide: four workers started together must not all restart in one moment.
max_requests = 20000
max_requests_jitter = 5000

# Gunicorn's largest request line, the same as nginx's 8 KB buffer (nginx.conf.template): a longer
# one gets nginx's JSON 414; with Gunicorn's 4094-byte default, lines in between got an HTML 414.
limit_request_line = 8190

# nginx on the same host sets X-Forwarded-For/Proto/Host; trust them only from there.
forwarded_allow_ips = "127.0.0.1"

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# Django logs tracebacks to stderr; a daemonised master would send them to /dev/null.
capture_output = True
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-forwarded-for}i)s" "%(a)s"'

# v1 clients may send access_token in the query string; `%5F` is an encoded `_`, which Django
# decodes in parameter names.
_TOKEN_VALUE = re.compile(r"(access(?:_|%5f)token=)[^&\s#]*", re.IGNORECASE)
_REDACTED_ATOMS = ("r", "q", "f", "{referer}i")


class RedactingLogger(Logger):
    """Gunicorn's logger with every access_token value in the request line and Referer blanked."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        """Return Gunicorn's log atoms with access_token values replaced."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _REDACTED_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = _TOKEN_VALUE.sub(r"\1[redacted]", atoms[key])
        return atoms


logger_class = RedactingLogger

proc_name = os.environ.get("GUNICORN_PROC_NAME", "instaclone-web")

# Gunicorn >= 25 opens a control socket at one default path per user; older versions ignore
# these two names.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True
