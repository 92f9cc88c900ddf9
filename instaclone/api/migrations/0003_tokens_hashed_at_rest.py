"""Blank the token column of tokens issued before hashed storage; their SHA-256 stays for look-ups.

From now on the toolkit stores only ``token_checksum`` (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE);
rows written earlier still hold the usable token in clear.
"""

from django.db import migrations


def stored_tokens_blank(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Drop the clear token of every row; the checksum column already holds its SHA-256."""
    db = schema_editor.connection.alias
    for name in ("AccessToken", "RefreshToken"):
        model = apps.get_model("oauth2_provider", name)
        # update() skips the checksum field's pre_save, so the checksums stay as they are.
        model.objects.using(db).exclude(token="").update(token="")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_first_party_tokens_publish"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [
        migrations.RunPython(stored_tokens_blank, migrations.RunPython.noop),
    ]
