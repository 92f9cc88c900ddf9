"""Both nginx configurations log through the same redacting format; Gunicorn uses its logger."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ("deploy/nginx.conf.template", "deploy/nginx.compose.conf")


def _redaction_block(text: str) -> str:
    start = text.index("    map $request $request_logged {")
    end = text.index(";\n", text.index("    log_format redacted")) + 2
    return text[start:end]


def test_nginx_configs_share_the_redacting_log_format() -> None:
    texts = {name: (ROOT / name).read_text() for name in CONFIGS}

    blocks = {name: _redaction_block(text) for name, text in texts.items()}

    assert blocks[CONFIGS[0]] == blocks[CONFIGS[1]]
    for name, text in texts.items():
        access_logs = re.findall(r"^\s*access_log (\S+)(?: (\w+))?;", text, re.MULTILINE)
        assert [fmt for path, fmt in access_logs if path != "off"] == ["redacted"], name


def test_gunicorn_logs_through_the_redacting_logger() -> None:
    namespace: dict[str, object] = {}
    exec((ROOT / "deploy" / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 - our config

    assert namespace["logger_class"] is namespace["RedactingLogger"]
