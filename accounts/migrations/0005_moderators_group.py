"""Create the Moderators group with only the permissions moderation needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Moderators"
# (app label, codename): see users, act on them through the audited admin actions (which Django
# gates on "change"), read the audit log. Nothing that adds, deletes or grants.
PERMISSIONS = (
    ("accounts", "view_user"),
    ("accounts", "change_user"),
    ("accounts", "view_moderatoraction"),
)


def _ensure_permissions(apps, using):
    """Create the accounts permissions now; Django only does it in post_migrate, after this."""
    app_config = apps.get_app_config("accounts")
    # Historical app configs carry no models module, and create_permissions skips those.
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    finally:
        app_config.models_module = None


def moderators_group_create(apps, schema_editor):
    """Create or repair the Moderators group so it holds exactly PERMISSIONS."""
    using = schema_editor.connection.alias
    _ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = [
        Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in PERMISSIONS
    ]
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.set(permissions)


def moderators_group_delete(apps, schema_editor):
    """Remove the Moderators group."""
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_moderatoraction"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(moderators_group_create, moderators_group_delete),
    ]
