"""Register the first-party mobile app (password grant) from FIRST_PARTY_CLIENT_ID/SECRET."""

from django.conf import settings
from django.db import migrations

FIRST_PARTY_NAME = "instaclone-ios"


def first_party_client_create(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Create the app unless a client with its client_id exists (idempotent)."""
    application = apps.get_model("oauth2_provider", "Application")
    db = schema_editor.connection.alias
    if application.objects.using(db).filter(client_id=settings.FIRST_PARTY_CLIENT_ID).exists():
        return
    # The toolkit's ClientSecretField hashes the secret on save, in historical models too.
    application.objects.using(db).create(
        name=FIRST_PARTY_NAME,
        client_id=settings.FIRST_PARTY_CLIENT_ID,
        client_secret=settings.FIRST_PARTY_CLIENT_SECRET,
        hash_client_secret=True,
        client_type="confidential",
        authorization_grant_type="password",
        redirect_uris="",
        skip_authorization=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        # The latest toolkit migration, so the historical model has every column the table has.
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [
        migrations.RunPython(first_party_client_create, migrations.RunPython.noop),
    ]
