"""``manage.py graph_check [--repair]``: prove both sides of the follow graph agree."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.services.graph_check import graph_check


class Command(BaseCommand):
    help = "Check that every edge's two shards agree and every count matches; --repair fixes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--repair", action="store_true", help="reconcile what disagrees")

    def handle(self, *args: Any, repair: bool, **options: Any) -> None:
        report = graph_check(repair=repair)
        for follower_id, target_id in sorted(report.follow_mismatches):
            self.stdout.write(f"follow {follower_id} -> {target_id}: sides disagree")
        for blocker_id, target_id in sorted(report.block_mismatches):
            self.stdout.write(f"block {blocker_id} -> {target_id}: sides disagree")
        for user_id in sorted(report.count_mismatches):
            self.stdout.write(f"user {user_id}: counts do not match the rows")
        if report.clean:
            self.stdout.write(self.style.SUCCESS("follow graph: both sides agree, counts exact"))
        elif report.repaired:
            after = graph_check()
            if not after.clean:
                raise CommandError("repair left disagreements; run again")
            self.stdout.write(self.style.SUCCESS("follow graph repaired"))
        else:
            raise CommandError("follow graph disagrees; run with --repair")
