"""Evidence outside Blink's cloud (docs/blink.md §2 and §6): what to look for on the premises.

Pure rules: given the device models on a request (hints or the user's choice) and the data
types asked for, list what an officer searching the premises should seize or check.
"""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from preservation.rules.serials import LEGACY_POOL_MODELS, SYNC_MODULE_2_MODELS

# Devices whose clips can be kept on a Sync Module 2's USB drive (docs/blink.md §2).
SM2_STORAGE_MODELS = frozenset({"outdoor_3", "outdoor_4", "mini", "doorbell", "camera_unknown"})
# Devices with storage of their own (microSD or built-in local storage).
OWN_STORAGE_MODELS = frozenset({"sync_module_xr", "mini_2", "floodlight"})
# Unknown models might be anything: show every on-premises possibility.
UNKNOWN_MODELS = frozenset({"", "unknown"})


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    title: str
    detail: str
    paths: tuple[str, ...] = ()


_SM2_LOCAL = ChecklistItem(
    "sm2_local_storage",
    _("Sync Module 2 USB drive (Local Storage)"),
    _("Look for a USB drive plugged into the Sync Module 2 (1 to 256 GB). Files are plain MP4, "
      "not encrypted. File names carry UTC times, 24-hour clock; some drives skip the month folder."),
    ("blink/YY-MM/YY-MM-DD/HH-MM-SS_<camera>_<NNN>.mp4", "YY-MM-DD/HH-MM-SS_<camera>_<NNN>.mp4"),
)
_CLIP_BACKUP = ChecklistItem(
    "clip_backup",
    _("Clip Backup folder on the same USB drive"),
    _("With a subscription, the Sync Module 2 copies cloud clips to the drive daily; they are "
      "not visible in the app. Names carry UTC times."),
    ("blink_backup/YY-MM/DD-HH-MM-SS_<camera>_<camera UID>.mp4", "blink_backups/…"),
)
_SM2_HUB = ChecklistItem(
    "find_sync_module_2",
    _("Find the Sync Module 2"),
    _("These cameras can store clips on a Sync Module 2's USB drive: look for the small hub "
      "near the router and check whether a drive is plugged in."),
)
_OWN_STORAGE = ChecklistItem(
    "device_storage",
    _("Storage in the device itself"),
    _("A Sync Module XR takes a microSD card; a Mini 2 and a Wired Floodlight can keep clips "
      "locally. Seize the device or its card."),
)
_HOME_ASSISTANT = ChecklistItem(
    "home_assistant",
    _("Home Assistant or blinkpy downloads"),
    _("Computers running Home Assistant or blinkpy may hold downloaded clips and snapshots, in any "
      "folder the owner chose. In the first name pattern the time is the LOCAL time of the "
      "downloading computer: note its time zone."),
    ("YYYYMMDD_HHMMSS_<name>.mp4", "<camera-name>-<utc-iso-time>.mp4"),
)
_LIVE_VIEW = ChecklistItem(
    "live_view_cloud_only",
    _("Saved Live View is in the cloud only"),
    _("Saved Live View sessions are never written to USB: only Blink holds them, so make sure "
      "“Saved Live View recordings” is part of this request."),
)
_LEGACY = ChecklistItem(
    "legacy_no_local",
    _("Legacy cameras store nothing locally"),
    _("XT, XT2 and Indoor (gen 1) cameras keep video only in a rolling 7,200-second cloud pool: "
      "there is no drive to seize and every hour counts."),
)


def evidence_checklist(models):
    """The checklist for a request naming devices of ``models``, most specific first."""
    models = set(models)
    unknown = not models or bool(models & UNKNOWN_MODELS)
    items = []
    if models & SYNC_MODULE_2_MODELS or unknown:
        items += [_SM2_LOCAL, _CLIP_BACKUP]
    elif models & SM2_STORAGE_MODELS:
        items += [_SM2_HUB, _SM2_LOCAL, _CLIP_BACKUP]
    if models & OWN_STORAGE_MODELS or unknown:
        items.append(_OWN_STORAGE)
    if models & LEGACY_POOL_MODELS:
        items.append(_LEGACY)
    return items + [_HOME_ASSISTANT, _LIVE_VIEW]
