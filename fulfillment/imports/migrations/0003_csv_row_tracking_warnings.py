from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0002_csvimportrow_update"),
    ]

    operations = [
        migrations.AddField(
            model_name="csvimportrow",
            name="warnings",
            field=models.TextField(blank=True, default=""),
        ),
    ]
