"""Forms of the documents feature: the agency letterhead logo."""
import io
import struct
import zlib

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, PngImagePlugin, UnidentifiedImageError

# Big enough for a crisp logo at print size, small enough to keep every PDF light.
LOGO_MAX_PIXELS = (1200, 600)
LOGO_SOURCE_MAX_PIXELS = 40_000_000


class AgencyLogoForm(forms.Form):
    error_messages = {
        "too_large": _("The file is %(size)s; the largest logo accepted is %(limit)s."),
        "not_an_image": _("This file is not a PNG or JPEG image."),
        "too_many_pixels": _("The image is too large (%(width)d × %(height)d pixels); use one under 6000 × 6000."),
    }

    logo = forms.FileField(
        label=_("Logo (PNG or JPEG)"),
        help_text=_("Printed at the top of every document, at most 45 mm wide. A transparent PNG looks best."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )

    def clean_logo(self):
        upload = self.cleaned_data["logo"]
        limit = settings.PRESERVE_PDF["LOGO_MAX_BYTES"]
        if upload.size > limit:
            raise ValidationError(self.error_messages["too_large"], code="too_large",
                                  params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)})
        self.cleaned_data["png"] = self._reencode(upload)
        return upload

    def _reencode(self, upload):
        if _png_text_too_large(upload):
            raise ValidationError(self.error_messages["not_an_image"], code="not_an_image")
        upload.seek(0)
        return self._decode(upload)

    def _decode(self, upload):
        """Decode and re-encode as PNG: what is stored is pixels we drew, never the uploaded bytes
        (no metadata, no polyglot files, no decompression bombs)."""
        try:
            with Image.open(upload) as image:
                if image.format not in ("PNG", "JPEG"):
                    raise ValidationError(self.error_messages["not_an_image"], code="not_an_image")
                if image.width * image.height > LOGO_SOURCE_MAX_PIXELS:
                    raise ValidationError(self.error_messages["too_many_pixels"], code="too_many_pixels",
                                          params={"width": image.width, "height": image.height})
                image = image.convert("RGBA")
                image.thumbnail(LOGO_MAX_PIXELS)
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
        # ValueError and SyntaxError: Pillow's answer to hostile chunks, such as a text chunk
        # that inflates past its limit (docs/security.md "Bad input").
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError):
            raise ValidationError(self.error_messages["not_an_image"], code="not_an_image") from None
        return out.getvalue()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_text_too_large(upload):
    """True when a text chunk before the pixels inflates past Pillow's limit.

    Checked here and not left to Pillow: importing WeasyPrint sets Pillow's process-wide
    ``LOAD_TRUNCATED_IMAGES``, under which Pillow silently drops such a chunk and accepts the file
    (docs/security.md "Bad input"). Inflating stops at the limit, so a bomb costs nothing.
    """
    upload.seek(0)
    if upload.read(len(_PNG_SIGNATURE)) != _PNG_SIGNATURE:
        return False
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    while True:
        header = upload.read(8)
        if len(header) < 8:
            return False
        length, kind = struct.unpack(">I4s", header)
        if kind in (b"IDAT", b"IEND"):
            return False
        data = upload.read(length)
        upload.read(4)  # CRC; Pillow checks it when it decodes
        if kind == b"tEXt" and length > limit:
            return True
        compressed = _compressed_text(kind, data)
        if compressed is not None:
            inflater = zlib.decompressobj()
            try:
                inflated = inflater.decompress(compressed, limit + 1)
            except zlib.error:
                continue
            if len(inflated) > limit:
                return True


def _compressed_text(kind, data):
    """The zlib stream of a compressed zTXt or iTXt chunk, None for any other chunk."""
    if kind == b"zTXt":
        _keyword, _, rest = data.partition(b"\x00")
        return rest[1:]
    if kind == b"iTXt":
        _keyword, _, rest = data.partition(b"\x00")
        if rest[:1] != b"\x01":
            return None
        # flag, method, language tag, translated keyword, then the text.
        _language, _, rest = rest[2:].partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        return text
    return None
