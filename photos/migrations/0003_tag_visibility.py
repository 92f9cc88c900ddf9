"""Tag index rows say whether their owner is active and public; counts keep the two apart."""

from django.db import migrations, models

# Both tables and accounts_user live in the users database, so one pass sets every row.
BACKFILL = """
UPDATE photos_tagmedia tm SET visible = coalesce(
    (SELECT u.is_active AND NOT u.is_private FROM accounts_user u WHERE u.id = tm.owner_id),
    false);
UPDATE photos_tag t SET
    media_count = (SELECT count(*) FROM photos_tagmedia tm WHERE tm.tag = t.name AND tm.visible),
    hidden_count = (SELECT count(*) FROM photos_tagmedia tm
                    WHERE tm.tag = t.name AND NOT tm.visible);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0002_records"),
        ("accounts", "0006_user_email_ci_unique"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="tagmedia",
            name="tagmedia_recent",
        ),
        migrations.AddField(
            model_name="tag",
            name="hidden_count",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="tagmedia",
            name="visible",
            field=models.BooleanField(default=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="tagmedia",
            index=models.Index(
                condition=models.Q(("visible", True)),
                fields=["tag", "-photo_id"],
                name="tagmedia_visible_recent",
            ),
        ),
        migrations.AddIndex(
            model_name="tagmedia",
            index=models.Index(
                condition=models.Q(("visible", False)),
                fields=["tag", "owner_id", "-photo_id"],
                name="tagmedia_hidden_owner",
            ),
        ),
        migrations.AddIndex(
            model_name="tagmedia",
            index=models.Index(fields=["owner_id"], name="tagmedia_owner"),
        ),
    ]
