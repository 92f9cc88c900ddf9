"""``manage.py oauth_app create|secret``: register API clients and rotate their secrets."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from instaclone.api.clients import ClientError, oauth_app_create, oauth_app_set_secret


class Command(BaseCommand):
    help = "Register an OAuth2 client (create) or give one a new secret (secret)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="register a confidential client")
        create.add_argument("--name", required=True)
        grants = create.add_mutually_exclusive_group(required=True)
        grants.add_argument(
            "--password-grant", action="store_const", const="password", dest="grant"
        )
        grants.add_argument("--code-grant", action="store_const", const="code", dest="grant")
        create.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        create.add_argument("--client-id", help="default: generated")
        create.add_argument("--client-secret", help="default: generated")
        create.add_argument(
            "--skip-authorization", action="store_true", help="no consent page (in-house apps)"
        )
        secret = actions.add_parser("secret", help="set or generate a client's secret")
        secret.add_argument("--client-id", required=True)
        secret.add_argument("--client-secret", help="default: generated")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                client_id, client_secret = oauth_app_create(
                    name=options["name"],
                    grant=options["grant"],
                    redirect_uris=options["redirect_uris"],
                    client_id=options["client_id"],
                    client_secret=options["client_secret"],
                    skip_authorization=options["skip_authorization"],
                )
            else:
                client_id = options["client_id"]
                client_secret = oauth_app_set_secret(
                    client_id=client_id, client_secret=options["client_secret"]
                )
        except ClientError as exc:
            raise CommandError(str(exc)) from exc
        # The secret is stored hashed: this is the only time it is shown.
        self.stdout.write(f"client_id={client_id}\nclient_secret={client_secret}")
