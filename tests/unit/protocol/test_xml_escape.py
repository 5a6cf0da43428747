"""XML character data in query-protocol answers: the fast path escapes exactly as the full one."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elsewhere.protocol._query import _escape

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _reference(text: str) -> str:
    """Markup escaped, CR kept as a character reference, what XML 1.0 cannot carry replaced."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;").replace("\r", "&#13;")
    return _INVALID.sub("\ufffd", text)


@FUZZ
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from('ab&<>"\r\n\t\x00\x1f\ufffe\ud800é'), max_size=30),
        st.text(max_size=30),
    )
)
def test_escape_matches_reference(text: str) -> None:
    """_escape gives the reference escaping for any text."""
    assert _escape(text) == _reference(text)


def test_escape_table() -> None:
    """ok/ plain text is kept; each special character is escaped or replaced."""
    assert _escape("arn:aws:iam::123456789012:root") == "arn:aws:iam::123456789012:root"
    assert _escape('a&b<c>d"e\rf') == "a&amp;b&lt;c&gt;d&quot;e&#13;f"
    assert _escape("x\x00y\ufffez\n\t") == "x\ufffdy\ufffdz\n\t"
