"""Keep ``tuning.__all__`` honest: everything listed exists, everything public is listed."""

import tuning


def test_all_lists_exactly_the_public_names():
    # dir(): the names tuning.analysis serves on first use are public too (see tuning.__getattr__)
    public = {name for name in dir(tuning) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(tuning, name)).__name__ == "module"}
    assert set(tuning.__all__) == public - modules
    assert all(hasattr(tuning, name) for name in tuning.__all__)
