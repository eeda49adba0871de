"""Feature vectors: a score points to its enterprise's stored features instead of
carrying a JSON copy, and keeps its contributions as float32 values.

Existing scores are converted, not dropped: each gets a feature vector made from its
own JSON snapshot (as of its own date) and its contributions packed in its model's
feature order, so every stored score reads back the same numbers.
"""

import hashlib

import django.db.models.deletion
import django.utils.timezone
import numpy as np
from django.db import migrations, models

#: ``scoring.features.FEATURES_REVISION`` when this migration was written.
REVISION = 1


def _key(names):
    return hashlib.sha256(f"{REVISION}:{','.join(names)}".encode()).hexdigest()[:16]


def forwards(apps, schema_editor):
    CreditScore = apps.get_model("scoring", "CreditScore")
    FeatureSet = apps.get_model("scoring", "FeatureSet")
    FeatureVector = apps.get_model("scoring", "FeatureVector")
    for score in CreditScore.objects.select_related("model_version").iterator():
        names = [feature["name"] for feature in score.model_version.features]
        feature_set, _ = FeatureSet.objects.get_or_create(
            key=_key(names), defaults={"names": names, "revision": REVISION}
        )
        values = np.array(
            [
                np.nan if score.features.get(name) is None else score.features[name]
                for name in feature_set.names
            ],
            dtype="<f8",
        )
        vector = FeatureVector.objects.create(
            enterprise_id=score.enterprise_id,
            feature_set=feature_set,
            as_of=score.as_of,
            values=values.tobytes(),
            computed_at=score.created_at,
        )
        contributions = np.array(
            [score.contributions[name] for name in [*names, "bias"]], dtype="<f4"
        )
        CreditScore.objects.filter(pk=score.pk).update(
            feature_vector=vector, contribution_values=contributions.tobytes()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("borrowers", "0003_alter_dataaccesslog_channel"),
        ("scoring", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeatureSet",
            fields=[
                (
                    "key",
                    models.CharField(
                        max_length=16,
                        primary_key=True,
                        serialize=False,
                        verbose_name="key",
                    ),
                ),
                ("names", models.JSONField(verbose_name="feature names")),
                ("revision", models.PositiveIntegerField(verbose_name="revision")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
            ],
            options={
                "verbose_name": "feature set",
                "verbose_name_plural": "feature sets",
            },
        ),
        migrations.CreateModel(
            name="FeatureVector",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("as_of", models.DateField(verbose_name="as of")),
                ("values", models.BinaryField(verbose_name="feature values")),
                (
                    "computed_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="computed at"
                    ),
                ),
                (
                    "enterprise",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="feature_vectors",
                        to="borrowers.enterprise",
                        verbose_name="enterprise",
                    ),
                ),
                (
                    "feature_set",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scoring.featureset",
                        verbose_name="feature set",
                    ),
                ),
            ],
            options={
                "verbose_name": "feature vector",
                "verbose_name_plural": "feature vectors",
                "ordering": ["-as_of", "-computed_at", "-pk"],
                "indexes": [
                    models.Index(
                        fields=["enterprise", "feature_set", "-as_of", "-computed_at"],
                        name="scoring_fv_latest",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="creditscore",
            name="feature_vector",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scores",
                to="scoring.featurevector",
                verbose_name="feature snapshot",
            ),
        ),
        migrations.AddField(
            model_name="creditscore",
            name="contribution_values",
            field=models.BinaryField(
                null=True,
                help_text="xgboost's exact contributions (float32, little-endian) in the model's feature order, then the bias.",
                verbose_name="contribution per feature",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="creditscore",
            name="feature_vector",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="scores",
                to="scoring.featurevector",
                verbose_name="feature snapshot",
            ),
        ),
        migrations.AlterField(
            model_name="creditscore",
            name="contribution_values",
            field=models.BinaryField(
                help_text="xgboost's exact contributions (float32, little-endian) in the model's feature order, then the bias.",
                verbose_name="contribution per feature",
            ),
        ),
        migrations.RemoveField(model_name="creditscore", name="features"),
        migrations.RemoveField(model_name="creditscore", name="contributions"),
    ]
