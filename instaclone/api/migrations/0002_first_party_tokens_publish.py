"""Give the "publish" scope to first-party tokens issued with every scope before it existed.

Posting and deleting photos now need "publish". Password-grant (first-party) tokens were issued
with every scope there was, so without this the mobile app could not post until its user logs in
again. Tokens of other apps keep what their person approved; a first-party token that asked for
fewer scopes keeps them too.
"""

from django.db import migrations

PUBLISH = "publish"
# Every scope that existed before "publish": a token with all of them was granted everything.
EARLIER_SCOPES = frozenset({"basic", "comments", "relationships", "likes"})


def first_party_tokens_publish(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Add "publish" to password-grant tokens that hold every earlier scope (idempotent)."""
    access_token = apps.get_model("oauth2_provider", "AccessToken")
    db = schema_editor.connection.alias
    tokens = access_token.objects.using(db).filter(application__authorization_grant_type="password")
    for token_id, scope in tokens.values_list("id", "scope").iterator():
        granted = scope.split()
        if EARLIER_SCOPES <= set(granted) and PUBLISH not in granted:
            tokens.filter(id=token_id).update(scope=" ".join([*granted, PUBLISH]))


class Migration(migrations.Migration):
    dependencies = [("api", "0001_first_party_client")]

    operations = [
        migrations.RunPython(first_party_tokens_publish, migrations.RunPython.noop),
    ]
