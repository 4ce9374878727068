"""jsonschema-rs is imported without ``email.utils`` (see validation._import_jsonschema_rs):
the stand-in that parses its build date must answer exactly as the real module does."""

from __future__ import annotations

import datetime
import email.utils
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from runway_dynamic.validation import _BuildDateReader

_DATES = st.datetimes(min_value=datetime.datetime(1000, 1, 1),
                      max_value=datetime.datetime(9999, 12, 31))
_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


@given(_DATES, _OFFSETS)
def test_build_date_stand_in_parses_every_rfc2822_date_as_email_utils_does(
        when: datetime.datetime, minutes: int) -> None:
    """For any RFC 2822 date with a numeric zone, the stand-in's datetime (value, zone and
    repr) is the real parsedate_to_datetime's."""
    zone = datetime.timezone(datetime.timedelta(minutes=minutes))
    text = email.utils.format_datetime(when.replace(microsecond=0, tzinfo=zone))
    real = email.utils.parsedate_to_datetime(text)
    assert repr(_BuildDateReader().parsedate_to_datetime(text)) == repr(real)


def test_build_date_stand_in_hands_other_forms_to_email_utils() -> None:
    reader = _BuildDateReader()
    for text in ("Tue, 27 Oct 2026 10:17:51 -0000", "Tue, 27 Oct 2026 10:17:51 GMT",
                 "27 Oct 26 10:17:51 +0000", "Tue, 27 Oct 2026 10:17 +0000"):
        assert repr(reader.parsedate_to_datetime(text)) == repr(
            email.utils.parsedate_to_datetime(text)), text
    assert reader.formatdate(0) == email.utils.formatdate(0)  # any other name: the real one


_PROBE = """
import sys
from runway_dynamic.validation import _import_jsonschema_rs
rs = _import_jsonschema_rs()
print(rs.jsonschema_rs.__build__["info-time"].isoformat())
print("email.utils" in sys.modules)
import email.utils
print(email.utils.parsedate_to_datetime is not None, type(sys.modules["email.utils"]).__name__)
"""


def test_jsonschema_rs_loads_without_email_utils_and_leaves_the_real_one_importable() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=60, check=True)
    stamp, loaded, later = done.stdout.split("\n")[:3]
    datetime.datetime.fromisoformat(stamp)  # the build date was parsed
    assert loaded == "False"
    assert later == "True module"
