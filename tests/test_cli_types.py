import argparse

import pytest

from graphrec.cli import main
from graphrec.commands._types import non_negative_int, port, positive_float, positive_int


@pytest.mark.parametrize(
    "func, good, bad",
    [
        (positive_int, [("1", 1), ("32", 32)], ["0", "-3", "x", "1.5"]),
        (non_negative_int, [("0", 0), ("7", 7)], ["-1", "seven"]),
        (positive_float, [("0.5", 0.5), ("10", 10.0)], ["0", "-1", "nan", "big"]),
        (port, [("0", 0), ("8000", 8000), ("65535", 65535)], ["-1", "65536", "http"]),
    ],
)
def test_values_are_checked(func, good, bad):
    for text, value in good:
        assert func(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match="expected"):
            func(text)


def test_a_bad_value_is_a_usage_error_that_names_it(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["recommend", "-k", "0", "x.jpg"])
    assert exc.value.code == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err
