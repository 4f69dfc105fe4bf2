"""The live provider catalogue and legal bases (docs/providers.md).

Copied from ``preservation/rules/catalogue.py`` by a data migration; platform staff correct them in
the admin, where every change is audited. ``as_policy()`` turns a row into the plain value the
clock engine takes, so the engine never reads the database.
"""
import re
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from preservation.rules import catalogue

__all__ = ["Provider", "LegalBasis", "validate_reference_pattern", "validate_sources"]


def validate_reference_pattern(value):
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(_("Not a valid regular expression: %(error)s"), code="invalid_pattern",
                              params={"error": str(exc)}) from None


def validate_sources(value):
    """{fact: {"text": ..., "verified_on": "YYYY-MM-DD" or null}} for every fact."""
    if not isinstance(value, dict):
        raise ValidationError(_("Sources must map each fact to its source and date."), code="invalid_sources")
    for fact, source in value.items():
        if not (isinstance(source, dict) and source.get("text")):
            raise ValidationError(_("The fact “%(fact)s” needs a source text."), code="invalid_sources",
                                  params={"fact": fact})
        try:
            source.get("verified_on") and date.fromisoformat(source["verified_on"])
        except (TypeError, ValueError):
            raise ValidationError(_("The fact “%(fact)s” needs its verified date as YYYY-MM-DD."),
                                  code="invalid_sources", params={"fact": fact}) from None


def _hours(period):
    return None if period is None else int(period / timedelta(hours=1))


def _period(hours):
    return None if hours is None else timedelta(hours=hours)


class Provider(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    web_form_url = models.CharField(_("web form"), max_length=300, blank=True)
    portal_url = models.CharField(_("portal"), max_length=300, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    identifier_types = models.JSONField(_("accepted identifier types"), default=list)
    retention_hours = models.PositiveIntegerField(
        _("cloud retention (hours)"), null=True, blank=True, help_text=_("Empty: not published."))
    region_rules = models.JSONField(
        _("retention by region"), default=list, blank=True,
        help_text=_('A list of {"countries": "eea_ch_uk", "hours": 720}.'))
    customer_configurable = models.BooleanField(_("customer can set the retention"), null=True, blank=True)
    customer_max_retention_hours = models.PositiveIntegerField(
        _("longest retention a customer can set (hours)"), null=True, blank=True)
    preservation_days = models.PositiveSmallIntegerField(_("own preservation period (days)"), null=True, blank=True)
    extensions = models.PositiveSmallIntegerField(_("extensions"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("extension length (days)"), null=True, blank=True)
    reference_pattern = models.CharField(
        _("reference pattern"), max_length=200, blank=True, validators=[validate_reference_pattern],
        help_text=_("A regular expression for the provider's acknowledgement reference; empty when "
                    "the provider publishes none."))
    notes = models.TextField(_("notes"), blank=True)
    sources = models.JSONField(_("sources"), default=dict, blank=True, validators=[validate_sources])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["pk"]

    def __str__(self):
        return self.name

    def as_policy(self) -> catalogue.Provider:
        return catalogue.Provider(
            code=self.code, name=_(self.name), web_form_url=self.web_form_url, portal_url=self.portal_url,
            email=self.email, identifier_types=tuple(self.identifier_types),
            retention=_period(self.retention_hours),
            region_rules=tuple(catalogue.RegionRule(rule["countries"], timedelta(hours=rule["hours"]))
                               for rule in self.region_rules),
            customer_configurable=self.customer_configurable,
            customer_max_retention=_period(self.customer_max_retention_hours),
            preservation_days=self.preservation_days, extensions=self.extensions,
            extension_days=self.extension_days, reference_pattern=self.reference_pattern, notes=self.notes,
            sources={fact: catalogue.Source(source["text"], source.get("verified_on") and
                                            date.fromisoformat(source["verified_on"]))
                     for fact, source in self.sources.items()},
        )

    @classmethod
    def fields_from_policy(cls, policy: catalogue.Provider) -> dict:
        return {
            "name": str(policy.name), "web_form_url": policy.web_form_url, "portal_url": policy.portal_url,
            "email": policy.email, "identifier_types": list(policy.identifier_types),
            "retention_hours": _hours(policy.retention),
            "region_rules": [{"countries": rule.countries, "hours": _hours(rule.retention)}
                             for rule in policy.region_rules],
            "customer_configurable": policy.customer_configurable,
            "customer_max_retention_hours": _hours(policy.customer_max_retention),
            "preservation_days": policy.preservation_days, "extensions": policy.extensions,
            "extension_days": policy.extension_days, "reference_pattern": policy.reference_pattern,
            "notes": policy.notes, "sources": {fact: source.as_dict() for fact, source in policy.sources.items()},
        }


class LegalBasis(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50)
    preservation_days = models.PositiveSmallIntegerField(
        _("preservation (days)"), null=True, blank=True,
        help_text=_("Empty: the agency's (national order) or the provider's (voluntary)."))
    extensions = models.PositiveSmallIntegerField(_("extensions"), default=0)
    extension_days = models.PositiveSmallIntegerField(_("extension length (days)"), null=True, blank=True)
    until_production = models.BooleanField(_("preserved until production once confirmed"), default=False)
    production_days = models.PositiveSmallIntegerField(_("production order answered within (days)"),
                                                       null=True, blank=True)
    production_emergency_hours = models.PositiveSmallIntegerField(
        _("emergency production order answered within (hours)"), null=True, blank=True)
    applies_from = models.DateField(_("applies from"), null=True, blank=True)
    source_text = models.CharField(_("source"), max_length=300, blank=True)
    verified_on = models.DateField(_("last verified"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("legal basis")
        verbose_name_plural = _("legal bases")
        ordering = ["pk"]

    def __str__(self):
        return self.name

    def as_policy(self) -> catalogue.LegalBasis:
        return catalogue.LegalBasis(
            code=self.code, name=_(self.name), short_name=_(self.short_name),
            preservation_days=self.preservation_days, extensions=self.extensions,
            extension_days=self.extension_days, until_production=self.until_production,
            production_days=self.production_days, production_emergency_hours=self.production_emergency_hours,
            applies_from=self.applies_from,
            source=catalogue.Source(self.source_text, self.verified_on) if self.source_text else catalogue.NOT_PUBLISHED,
        )

    @classmethod
    def fields_from_policy(cls, basis: catalogue.LegalBasis) -> dict:
        return {
            "name": str(basis.name), "short_name": str(basis.short_name),
            "preservation_days": basis.preservation_days, "extensions": basis.extensions,
            "extension_days": basis.extension_days, "until_production": basis.until_production,
            "production_days": basis.production_days, "production_emergency_hours": basis.production_emergency_hours,
            "applies_from": basis.applies_from,
            "source_text": basis.source.text if basis.source.verified_on else "",
            "verified_on": basis.source.verified_on,
        }
