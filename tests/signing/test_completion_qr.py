"""The certificate's QR code: the numpy mask score picks reportlab's mask, so the modules are reportlab's."""

from __future__ import annotations

import random
import string

import pytest
from reportlab.graphics.barcode import qrencoder

from esign.signing.completion import _FastQRCode, _lost_points


def _urls() -> list[tuple[str, str]]:
    rng = random.Random(8)
    alphabet = string.ascii_letters + string.digits + "-_/"
    return [("https://sign.example.com/v/" + "".join(rng.choice(alphabet) for _ in range(length)), level)
            for length in (10, 17, 45, 90, 200) for level in ("L", "M", "Q", "H")]


@pytest.mark.parametrize(("url", "level"), _urls())
def test_same_score_and_same_modules_as_reportlab(url: str, level: str) -> None:
    correction = getattr(qrencoder.QRErrorCorrectLevel, level)
    theirs = qrencoder.QRCode(None, correction)
    theirs.addData(url)
    theirs.make()
    ours = _FastQRCode(None, correction)
    ours.addData(url)
    ours.make()
    assert ours.modules == theirs.modules
    for mask in range(8):
        theirs.makeImpl(True, mask)
        assert _lost_points(theirs.modules) == qrencoder.QRUtil.getLostPoint(theirs)


def test_another_reportlab_release_keeps_its_own_encoder() -> None:
    """The numpy score reproduces one release's mask choice; on another, reportlab encodes as it does."""
    from esign.signing.completion import qr_encoder_class

    assert qr_encoder_class("5.1.0") is _FastQRCode
    assert qr_encoder_class("5.2.0") is qrencoder.QRCode and qr_encoder_class("4.4.3") is qrencoder.QRCode
