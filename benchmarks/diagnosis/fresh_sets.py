"""The fresh held-out sets of issue 22 that ``make_fresh.py --set N`` makes: set -> (its cases, the data
file, its store, what the file says it is). Moved out of ``make_fresh.py`` in round 17 to keep it short."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh2_cases import FRESH2  # noqa: E402
from fresh3_cases import FRESH3  # noqa: E402
from fresh4_cases import FRESH4  # noqa: E402
from fresh5_cases import FRESH5  # noqa: E402
from fresh6_cases import FRESH6  # noqa: E402
from fresh7_cases import FRESH7  # noqa: E402
from fresh8_cases import FRESH8  # noqa: E402
from fresh9_cases import FRESH9  # noqa: E402
from fresh10_cases import FRESH10  # noqa: E402
from fresh11_cases import FRESH11  # noqa: E402
from fresh12_cases import FRESH12  # noqa: E402
from fresh13_cases import FRESH13  # noqa: E402
from fresh14_cases import FRESH14  # noqa: E402
from fresh15_cases import FRESH15  # noqa: E402
from fresh16_cases import FRESH16  # noqa: E402
from fresh_cases import FRESH  # noqa: E402

SETS = {
    1: (FRESH, "diagnosis_fresh.json", "fresh.db",
        "Fresh held-out set of issue 22: real Keras fits made after the diagnosis was frozen (commit a9567c7), "
        "labelled by construction (benchmarks/diagnosis/fresh_cases.py); every seed's truth is its config's. "
        "Same format as diagnosis_corpus.json."),
    2: (FRESH2, "diagnosis_fresh2.json", "fresh2.db",
        "Second fresh held-out set of issue 22 (round 3): real Keras fits made after the round-3 diagnosis was "
        "frozen, labelled by construction (benchmarks/diagnosis/fresh2_cases.py); every seed's truth is its "
        "config's. Same format as diagnosis_corpus.json."),
    3: (FRESH3, "diagnosis_fresh3.json", "fresh3.db",
        "Third fresh held-out set of issue 22 (round 4): real Keras fits made after the round-4 diagnosis was "
        "frozen (commit 880860b), labelled by construction (benchmarks/diagnosis/fresh3_cases.py); every seed's "
        "truth is its config's. Same format as diagnosis_corpus.json."),
    4: (FRESH4, "diagnosis_fresh4.json", "fresh4.db",
        "Fourth fresh held-out set of issue 22 (round 5): real Keras fits made after the round-5 diagnosis was "
        "frozen (commit 9144704), labelled by construction (benchmarks/diagnosis/fresh4_cases.py); every seed's "
        "truth is its config's. Same format as diagnosis_corpus.json."),
    5: (FRESH5, "diagnosis_fresh5.json", "fresh5.db",
        "Fifth fresh held-out set of issue 22 (round 6): real Keras fits made after the round-5 diagnosis and "
        "round 6's plain definitions (truth.py) were frozen, six constructions per label "
        "(benchmarks/diagnosis/fresh5_cases.py); every seed's truth is its config's. Same format as "
        "diagnosis_corpus.json."),
    6: (FRESH6, "diagnosis_fresh6.json", "fresh6.db",
        "Sixth fresh held-out set of issue 22 (round 7): real Keras fits made after the round-7 diagnosis and "
        "round 7's plain definitions (truth.py) were frozen (commit a53b08b), seven constructions per label "
        "(benchmarks/diagnosis/fresh6_cases.py); every seed's truth is its config's. Same format as "
        "diagnosis_corpus.json."),
    7: (FRESH7, "diagnosis_fresh7.json", "fresh7.db",
        "Seventh fresh held-out set of issue 22 (round 9): real Keras fits made after the round-9 diagnosis was "
        "frozen (commit dc12107), seven constructions per label (benchmarks/diagnosis/fresh7_cases.py); every "
        "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    8: (FRESH8, "diagnosis_fresh8.json", "fresh8.db",
        "Eighth fresh held-out set of issue 22 (round 10): real Keras fits made after the round-10 diagnosis was "
        "frozen (commit a31cbe2), seven constructions per label (benchmarks/diagnosis/fresh8_cases.py); every "
        "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    9: (FRESH9, "diagnosis_fresh9.json", "fresh9.db",
        "Ninth fresh held-out set of issue 22 (round 12): real Keras fits made after the round-11 diagnosis was "
        "frozen (commit 7ef11e3), seven constructions per label (benchmarks/diagnosis/fresh9_cases.py); every "
        "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    10: (FRESH10, "diagnosis_fresh10.json", "fresh10.db",
         "Tenth fresh held-out set of issue 22 (round 13): real Keras fits made after the round-13 diagnosis was "
         "frozen (commit 7688ae9), seven constructions per label (benchmarks/diagnosis/fresh10_cases.py); every "
         "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    11: (FRESH11, "diagnosis_fresh11.json", "fresh11.db",
         "Eleventh fresh held-out set of issue 22 (round 15): real Keras fits made after the round-15 diagnosis was "
         "frozen (commit c1e02e1), seven constructions per label (benchmarks/diagnosis/fresh11_cases.py); every "
         "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    12: (FRESH12, "diagnosis_fresh12.json", "fresh12.db",
         "Twelfth fresh held-out set of issue 22 (round 16): real Keras fits made after the round-16 diagnosis was "
         "frozen (commit a5d0008), seven constructions per label (benchmarks/diagnosis/fresh12_cases.py); every "
         "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    13: (FRESH13, "diagnosis_fresh13.json", "fresh13.db",
         "Thirteenth fresh held-out set of issue 22 (round 17): real Keras fits made after the round-17 diagnosis "
         "was frozen (commit c460d70), seven constructions per label (benchmarks/diagnosis/fresh13_cases.py); every "
         "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    14: (FRESH14, "diagnosis_fresh14.json", "fresh14.db",
         "Fourteenth fresh held-out set of issue 22 (round 18): real Keras fits made after the round-18 diagnosis "
         "was frozen (commit 73effc3), seven constructions per label (benchmarks/diagnosis/fresh14_cases.py); every "
         "seed's truth is its config's. Same format as diagnosis_corpus.json."),
    15: (FRESH15, "diagnosis_fresh15.json", "fresh15.db",
         "Fifteenth fresh held-out set of issue 22 (round 19): real Keras fits made after round 19's forecast "
         "was frozen (commit 2ef952f), seven constructions per label (benchmarks/diagnosis/fresh15_cases.py), none "
         "pilot-fitted; every seed's truth is its config's. Same format as diagnosis_corpus.json."),
    16: (FRESH16, "diagnosis_fresh16.json", "fresh16.db",
         "Sixteenth fresh held-out set of issue 22 (round 20): real Keras fits made after round 20's diagnosis "
         "was frozen (commit afdd708), seven constructions per label (benchmarks/diagnosis/fresh16_cases.py), none "
         "pilot-fitted; every seed's truth is its config's. Same format as diagnosis_corpus.json."),
}
