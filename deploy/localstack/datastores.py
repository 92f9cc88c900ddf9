"""Redis, the two Memcached instances and S3 (SeaweedFS `weed mini`)."""

from __future__ import annotations

import contextlib
import http.client
import json
import shlex
import signal
import socket
import subprocess
import time

from .errors import StackError
from .processes import http_get, is_root, need, port_answers, run, tail, terminate, venv_tool, warn
from .profiles import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, VENV_BIN, weed_ports
from .service import Service

# --- Redis -----------------------------------------------------------------------------------


class Redis(Service):
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "# Written by deploy/stack.py on every start.\n"
            "bind 127.0.0.1\n"
            f"port {self.port}\n"
            "protected-mode yes\n"
            'save ""\n'
            "appendonly no\n"
            f"dir {self.dir}\n"
            "daemonize yes\n"
            f"pidfile {self.pidfile}\n"
            f"logfile {self.logfile}\n"
            "databases 16\n"
            "# Photo->user map buckets hold up to 512 fields (IDMAP_MAX_BUCKET_ENTRIES); keep\n"
            "# them in the compact listpack encoding.\n"
            "hash-max-listpack-entries 512\n"
            "# Home feeds hold up to FEED_SIZE (300) entries; the same for sorted sets.\n"
            "zset-max-listpack-entries 512\n"
        )
        self._started_at = time.monotonic()
        run([need("redis-server"), str(conf)], what=f"starting {self.name}", logfile=self.logfile)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False


# --- Memcached -------------------------------------------------------------------------------


class Memcached(Service):
    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            need("memcached"),
            "-d",
            "-l",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "0",
            "-m",
            "64",
            "-c",
            "1024",
            "-P",
            str(self.pidfile),
        ]
        if is_root():
            cmd += ["-u", "root"]  # memcached refuses to run as root without -u
        self._started_at = time.monotonic()
        run(cmd, what=f"starting {self.name}", logfile=self.logfile)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"version\r\n")
                return s.recv(64).startswith(b"VERSION")
        except OSError:
            return False


# --- S3 (SeaweedFS `weed mini`) --------------------------------------------------------------

S3_CHECK = r"""
import sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, bucket, key, secret = sys.argv[1:5]
s3 = boto3.client(
    "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
    region_name="us-east-1",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
)
try:
    s3.head_bucket(Bucket=bucket)
except ClientError:
    s3.create_bucket(Bucket=bucket)
body = b"instaclone stack check"
s3.put_object(Bucket=bucket, Key=".stack-check", Body=body)
got = s3.get_object(Bucket=bucket, Key=".stack-check")["Body"].read()
assert got == body, got
s3.delete_object(Bucket=bucket, Key=".stack-check")
"""


class S3(Service):
    def start(self) -> None:
        weed = venv_tool("weed")
        data = self.dir / "data"
        confdir = self.dir / "config"  # empty: keep weed from reading ~/.seaweedfs or /etc
        for d in (data, confdir):
            d.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": S3_ACCESS_KEY,
                    "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        s3conf = self.dir / "s3.json"
        s3conf.write_text(json.dumps(identities, indent=2) + "\n")
        s3conf.chmod(0o600)
        # `weed mini` saves its options in data/mini.options and reads them back on start;
        # drop it so the command line below is the whole truth.
        with contextlib.suppress(OSError):
            (data / "mini.options").unlink()
        cmd = [
            weed,
            "-logtostderr",
            f"-config_dir={confdir}",
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            *(f"-{flag}={port}" for flag, port in weed_ports(self.profile).items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            f"-s3.config={s3conf}",
            f"-bucket={S3_BUCKET}",
            f"-filer.localSocket={self.dir / 'filer.sock'}",
            f"-s3.localSocket={self.dir / 's3.sock'}",
        ]
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n".encode())
            fh.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        self.pidfile.write_text(f"{proc.pid}\n")
        self._started_at = time.monotonic()

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            terminate(pid, signal.SIGTERM, 30, self.expect)
        with contextlib.suppress(OSError):
            self.pidfile.unlink()

    def answers(self) -> bool:
        if not port_answers(self.port):
            return False
        try:
            status, _ = http_get(self.port, "/", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status < 500

    def verify(self, timeout: float = 60) -> None:
        """Put and get an object with the profile's credentials (boto3, from the venv)."""
        python = VENV_BIN / "python"
        if not python.exists():
            warn("no .venv yet: skipping the S3 put/get check")
            return
        endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = subprocess.run(
                [str(python), "-c", S3_CHECK, endpoint, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                return
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            last = lines[-1] if lines else f"exit {proc.returncode}"
            time.sleep(1)
        raise StackError(
            f"s3 ({endpoint}) answers but a boto3 put/get with access key {S3_ACCESS_KEY} "
            f"fails: {last}\n  its log is {self.logfile}:\n{tail(self.logfile)}"
        )
