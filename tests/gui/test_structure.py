"""The editor's structure: one uint→float conversion, a composed file controller behind a
Protocol, no import cycles under ``TYPE_CHECKING``, every GUI test marked and collectable
without torch."""

from __future__ import annotations

import numpy as np
import pytest

from limelight.core.imageio import to_float
from limelight.gui.document import Document

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_document_converts_pixels_with_the_core(dtype: type) -> None:
    """The proxy's float image is the core's ``to_float`` (no GUI copy of it)."""
    top = np.iinfo(dtype).max
    proxy = np.array([[[0, 1, top], [top // 2, 3, 7]]], dtype)
    doc = Document(proxy, (2, 1))
    assert doc.img.dtype == np.float32
    np.testing.assert_array_equal(doc.img, to_float(proxy))


def test_document_refuses_pixels_the_core_refuses() -> None:
    with pytest.raises(ValueError, match="uint8 or uint16"):
        Document(np.zeros((2, 2, 3), np.int32), (2, 2))
