"""Load the shipped provider catalogue and legal bases (preservation/rules/catalogue.py) and give every
existing request its provider and basis (docs/providers.md §7): Blink; drafts
take the agency's default basis; sent requests keep the 90 + 90-day clock they were tracked
under (§ 2703(f) for US agencies, Blink's own policy for the others), so no date moves."""
from django.db import migrations
from django.utils import translation


def load(apps, schema_editor):
    from preservation.rules import catalogue
    from preservation.models.providers import LegalBasis as LiveBasis, Provider as LiveProvider

    Provider = apps.get_model("preservation", "Provider")
    LegalBasis = apps.get_model("preservation", "LegalBasis")
    with translation.override("en"):
        for policy in catalogue.PROVIDERS:
            Provider.objects.update_or_create(code=policy.code, defaults=LiveProvider.fields_from_policy(policy))
        for basis in catalogue.LEGAL_BASES:
            LegalBasis.objects.update_or_create(code=basis.code, defaults=LiveBasis.fields_from_policy(basis))
    Request = apps.get_model("preservation", "PreservationRequest")
    # _base_manager: every agency's rows, with or without the live tenancy guard.
    for request in Request._base_manager.select_related("agency").iterator():
        country = request.agency.country
        if request.state == "draft":
            basis = request.agency.default_legal_basis or catalogue.default_basis_code(country)
        else:
            basis = catalogue.US_2703F if country == "US" else catalogue.VOLUNTARY
        Request._base_manager.filter(pk=request.pk).update(provider=catalogue.BLINK.code, legal_basis=basis)


class Migration(migrations.Migration):
    dependencies = [("preservation", "0130_providers_catalogue")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
