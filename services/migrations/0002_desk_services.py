from django.db import migrations

from services.catalogue import DESK_SERVICES


def create_desk_services(apps, schema_editor):
    Service = apps.get_model("services", "Service")
    for data in DESK_SERVICES:
        Service.objects.get_or_create(code=data["code"], defaults={k: v for k, v in data.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("services", "0001_initial")]

    operations = [migrations.RunPython(create_desk_services, migrations.RunPython.noop)]
