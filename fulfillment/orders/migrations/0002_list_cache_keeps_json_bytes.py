import msgspec
from django.db import migrations, models


def payload_to_body(apps, schema_editor):
    ListCache = apps.get_model("orders", "ListCache")
    for cache in ListCache.objects.all():
        cache.body = msgspec.json.encode(cache.payload or [])
        cache.save(update_fields=["body"])


def body_to_payload(apps, schema_editor):
    ListCache = apps.get_model("orders", "ListCache")
    for cache in ListCache.objects.all():
        cache.payload = msgspec.json.decode(bytes(cache.body or b"[]"))
        cache.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.AddField(model_name="listcache", name="body", field=models.BinaryField(default=b"")),
        migrations.RunPython(payload_to_body, body_to_payload),
        migrations.RemoveField(model_name="listcache", name="payload"),
    ]
