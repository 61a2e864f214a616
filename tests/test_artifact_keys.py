"""Every Prefect artifact key comes from one function: any name people give becomes a key Prefect accepts."""

import re

import pytest
from prefect.types.names import LOWERCASE_LETTERS_NUMBERS_AND_DASHES_ONLY_REGEX as VALID_KEY

from tasks.artifacts import artifact_key


@pytest.mark.parametrize(
    ("names", "key"),
    [
        (("interpret", "ecg00003.png-f5abc227", "table"), "interpret-ecg00003-png-f5abc227-table"),
        (("eval", "Demo_Run 2", "leaderboard"), "eval-demo-run-2-leaderboard"),
        (("run", "--weird//name..", ""), "run-weird-name"),
        (("gallery", "ptb-xl"), "gallery-ptb-xl"),
        (("cnn", "Ärzte ECG", "signal"), "cnn-arzte-ecg-signal"),
    ],
)
def test_names_become_valid_keys(names, key):
    assert artifact_key(*names) == key
    assert re.fullmatch(VALID_KEY, key)


def test_a_name_with_nothing_to_keep_is_refused():
    with pytest.raises(ValueError, match="no artifact key"):
        artifact_key("...", "__")
