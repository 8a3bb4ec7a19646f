from django.db import migrations, models
from django.utils.text import slugify


def name_every_location(apps, schema_editor):
    """Each existing location gets an address name from its city (or name), unique by a number suffix."""
    Location = apps.get_model("bookings", "Location")
    taken: set[str] = set()
    for location in Location.objects.order_by("pk"):
        base = slugify(location.city or location.name)[:50] or "desk"
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        location.slug = slug
        location.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("bookings", "0009_event_kinds_check_in_undone_exported")]

    operations = [
        migrations.AddField(
            model_name="location",
            name="slug",
            field=models.SlugField(db_index=False, default="", max_length=60, verbose_name="address name"),
            preserve_default=False,
        ),
        migrations.RunPython(name_every_location, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="location",
            name="slug",
            field=models.SlugField(
                help_text="The location's part of every public address, e.g. maastricht in /maastricht/book/. Lower case.",
                max_length=60,
                unique=True,
                verbose_name="address name",
            ),
        ),
    ]
