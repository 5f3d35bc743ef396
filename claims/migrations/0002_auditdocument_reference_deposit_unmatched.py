import uuid

from django.db import migrations, models


def fill_references(apps, schema_editor):
    AuditDocument = apps.get_model("claims", "AuditDocument")
    for document in AuditDocument.objects.filter(reference__isnull=True).only("pk"):
        document.reference = uuid.uuid4()
        document.save(update_fields=["reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0001_initial"),
    ]

    operations = [
        # Documents are addressed by UUID in URLs; existing rows get one each before it becomes unique.
        migrations.AddField(
            model_name="auditdocument",
            name="reference",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_references, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditdocument",
            name="reference",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddIndex(
            model_name="deposit",
            index=models.Index(
                condition=models.Q(("payment__isnull", True)),
                fields=["organization"],
                name="claims_deposit_unmatched",
            ),
        ),
    ]
