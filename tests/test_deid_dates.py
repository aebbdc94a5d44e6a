"""Date shifting of DA, DT and of dates written in free text."""

from __future__ import annotations

import pytest

from transforms.deid.dates import (DATE_PLACEHOLDER, Shift, UnshiftableDate, paired_time_tags,
                                   redact_dates_in_text, shift_da, shift_dates_in_text, shift_dt, shift_tm)


@pytest.mark.parametrize("value, days, expected", [
    ("20010213", -365, "20000214"), ("20000301", -1, "20000229"), ("2000.01.01", -1, "19991231"),
    ("", -10, ""), ("20010101-20010131", -1, "20001231-20010130"), ("20010213 ", -1, "20010212")])
def test_shift_da(value, days, expected):
    assert shift_da(value, days) == expected


@pytest.mark.parametrize("value, days, expected", [
    ("20010213184746", -1, "20010212184746"), ("20010213184746.123456+0100", -31, "20010113184746.123456+0100"),
    ("2001", -100, "2000"), ("200103", -1, "200102"), ("20010101", -1, "20001231"),
    ("2001010123", Shift(-1, 3600), "2001010100"), ("20010101230000.5", Shift(0, 3600), "20010102000000.5")])
def test_shift_dt_keeps_precision_time_and_offset(value, days, expected):
    assert shift_dt(value, days) == expected


@pytest.mark.parametrize("value, seconds, expected", [
    ("101530", 3600, "111530"), ("223000.123", 7000, "002640.123"), ("10", 3600, "11"), ("1015", 3700, "1116"),
    ("", 3600, ""), ("10:15:30", 60, "101630")])
def test_shift_tm_moves_times_of_day_modulo_24h(value, seconds, expected):
    assert shift_tm(value, seconds) == expected


def test_a_date_and_its_time_move_like_one_instant():
    shift = Shift(days=-10, seconds=7000)
    assert shift_da("20010213", shift, paired_time="230000") == "20010204"      # 23:00 + 1h56 -> next day
    assert shift_tm("230000", shift.seconds) == "005640"
    assert shift_dt("20010213230000", shift) == "20010204005640"
    assert shift_da("20010213", shift, paired_time="100000") == "20010203"
    assert shift_da("20010213", shift) == "20010203"                             # no time: whole days
    assert shift_dt("20010213", shift) == "20010203"
    assert paired_time_tags()[0x00080020] == 0x00080030                           # StudyDate -> StudyTime


@pytest.mark.parametrize("value", ["2001023", "20011301", "notadate", "00000000"])
def test_unparsable_dates_raise(value):
    with pytest.raises(UnshiftableDate) as caught:
        shift_da(value, -1)
    assert value not in str(caught.value)


def test_dates_in_text_are_shifted_in_their_own_format():
    text = "CT 03/14/2021, compared with 2021-03-01 and 20210210; seen 14 March 2021 (Sept 3, 2020)."
    shifted = shift_dates_in_text(text, -10)
    assert shifted == "CT 03/04/2021, compared with 2021-02-19 and 20210131; seen 4 March 2021 (Aug 24, 2020)."


def test_day_first_dates_are_recognised():
    assert shift_dates_in_text("on 31/12/2020", -1) == "on 30/12/2020"
    assert shift_dates_in_text("on 05.04.2020", -5, day_first=True) == "on 31.03.2020"


def test_dates_in_text_can_be_redacted():
    assert redact_dates_in_text("born 1961-07-23, seen 03/14/2019") == f"born {DATE_PLACEHOLDER}, seen {DATE_PLACEHOLDER}"
    assert redact_dates_in_text("dose 12.5 mGy, 3 series") == "dose 12.5 mGy, 3 series"
