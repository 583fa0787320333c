from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0003_parked_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="display_name",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
    ]
